package live_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// burstRule: three failed logins of one user within a 10-minute window (windows start
// every 5 minutes), event time from $.ts, one minute of lateness.
const burstRule = `{"id":"burst","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	"group_by":["$.user"],"window":{"size":"10m","every":"5m"},"time":"$.ts","lateness":"1m","threshold":3,
	"alert":{"suppress":"0s"}}` // every window alerts (the lifecycle has its own tests)

func failedLogin(user, ts string) string {
	return fmt.Sprintf(`{"type":"login.failed","user":%q,"ts":%q}`, user, ts)
}

// TestWindowedRuleAlertsPerGroupAndWindow runs a windowed, grouped rule through the
// daemon: alerts name the group and window, late and timeless events do not count and
// show in /v1/rules, open windows show in /v1/counts, and a restart restores the open
// windows and the watermark from the snapshot.
func TestWindowedRuleAlertsPerGroupAndWindow(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	state := t.TempDir()
	conf := func(c *live.Config) { c.Group, c.StateURL = "windows", "file://"+state }
	d, stop := livetest.StartLive(t, b, conf)
	r := livetest.ParseRule(t, burstRule)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)

	ts := func(minute int) string {
		return time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC).Format(time.RFC3339)
	}
	recs := b.Produce(t,
		livetest.Event("c-1", failedLogin("a", ts(0))),
		livetest.Event("c-1", failedLogin("a", ts(1))),
		livetest.Event("c-1", failedLogin("b", ts(2))),
		livetest.Event("c-1", failedLogin("a", ts(4))),  // a's third in [-5m,5m) and [0,10m)
		livetest.Event("c-2", failedLogin("a", ts(4))),  // another customer's "a": its own group
		livetest.Event("c-1", failedLogin("a", ts(20))), // watermark 00:19: windows ending by then close
		livetest.Event("c-1", failedLogin("a", ts(3))),  // late
		livetest.Event("c-1", `{"type":"login.failed","user":"a","ts":"yesterday"}`),
	)
	waitSeen(t, d, 8)

	alerts := alertsOn(t, b, 2)
	slices.SortFunc(alerts, func(a, b contract.Alert) int { return a.WindowStart.Compare(*b.WindowStart) })
	for i, want := range []struct{ start, end string }{{"2025-12-31T23:55:00Z", "2026-01-01T00:05:00Z"}, {"2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z"}} {
		a := alerts[i]
		got := fmt.Sprintf("%s %s %s %v %s %g %d %s", a.Customer, a.WindowStart.Format(time.RFC3339), a.WindowEnd.Format(time.RFC3339),
			string(a.Group["$.user"]), a.Aggregate, a.Value, a.Count, a.Threshold)
		if w := fmt.Sprintf("c-1 %s %s \"a\" count 3 3 >= 3", want.start, want.end); got != w {
			t.Errorf("alert %d = %s, want %s", i, got, w)
		}
		if a.Offset != recs[3].Offset || a.Partition != recs[3].Partition {
			t.Errorf("alert %d names offset %d/%d, want the fourth event's %d/%d", i, a.Partition, a.Offset, recs[3].Partition, recs[3].Offset)
		}
		// The id is a function of (rule version, customer, group, window, threshold)
		// alone, so history and restarts give the same one.
		start, _ := time.Parse(time.RFC3339, want.start)
		group := window.AppendValueKey(nil, jsonpath.MustValueOf("a"))
		if id := contract.WindowAlertID("*", "burst", 1, "c-1", group, start.UnixMilli(), true, r.Threshold); a.AlertID != id {
			t.Errorf("alert %d id %s, want %s", i, a.AlertID, id)
		}
	}
	if alerts[0].AlertID == alerts[1].AlertID {
		t.Errorf("two windows share alert id %s", alerts[0].AlertID)
	}

	v, _ := d.Count(r.Key(), "c-1")
	if got := windowsText(v); got != `{"$.user":"a"} 00:15-00:25 1 1; {"$.user":"a"} 00:20-00:30 1 1` {
		t.Errorf("c-1's open windows: %s", got)
	}
	view := ruleView(t, d, r.Key())
	if ws := view.WindowState; ws == nil || ws.Late != 1 || ws.TimeErrors != 1 || ws.Groups != 2 || ws.Windows != 4 || ws.Degraded != "" || view.Status != contract.RuleLive {
		t.Errorf("rule view: status %s, window state %+v; want live, 1 late, 1 time error, 2 groups (c-1/a, c-2/a), 4 windows", view.Status, ws)
	}

	// Restart: the two open windows of c-1/a and the watermark come back from the
	// snapshot. Two more events in them make three: each window alerts once.
	stop()
	<-d.Done()
	d2, _ := livetest.StartLive(t, b, conf)
	b.Produce(t,
		livetest.Event("c-1", failedLogin("a", ts(2))), // late: the watermark was restored
		livetest.Event("c-1", failedLogin("a", ts(21))),
		livetest.Event("c-1", failedLogin("a", ts(22))),
	)
	waitSeen(t, d2, 3)
	alerts = alertsOn(t, b, 4)[2:]
	var windows []string
	for _, a := range alerts {
		windows = append(windows, a.WindowStart.Format("15:04")+"-"+a.WindowEnd.Format("15:04"))
	}
	slices.Sort(windows)
	if strings.Join(windows, " ") != "00:15-00:25 00:20-00:30" {
		t.Errorf("after the restart, alerts of windows %v; want 00:15-00:25 and 00:20-00:30", windows)
	}
	if ws := ruleView(t, d2, r.Key()).WindowState; ws == nil || ws.Late != 2 {
		t.Errorf("after the restart, window state %+v; want 2 late events (one restored, one new)", ws)
	}
}

func windowsText(v contract.CountView) string {
	var parts []string
	for _, w := range v.Windows {
		g, _ := json.Marshal(w.Group)
		val := "null"
		if w.Value != nil {
			val = fmt.Sprint(*w.Value)
		}
		parts = append(parts, fmt.Sprintf("%s %s-%s %d %s", g, w.WindowStart.Format("15:04"), w.WindowEnd.Format("15:04"), w.Count, val))
	}
	return strings.Join(parts, "; ")
}

func ruleView(t *testing.T, d *live.Daemon, k rule.Key) contract.RuleView {
	t.Helper()
	for _, v := range d.Rules() {
		if v.Scope == k.Scope && v.ID == k.ID {
			return v
		}
	}
	t.Fatalf("rule %s not in the rule list", k)
	return contract.RuleView{}
}
