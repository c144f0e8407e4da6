package console_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// The rules of TestPreviewReplaysWindowsAsLive. Those with an id are saved before the
// events arrive, so that live evaluates them over the same events the preview samples.
// The windowed rules here alert once per window (suppress 0s), as the crossings below
// are worked out; suppression and resolve have their own tests.
const (
	// Logins per customer and type, per minute: two alert.
	byTypeRule = `{"id":"logins-by-type","scope":"*","when":{"path":"$.type","op":"matches","value":"^login\\."},` +
		`"group_by":["$.type"],"window":{"size":"1m"},"threshold":2,"alert":{"suppress":"0s"}}`
	// More than one distinct first role among a customer's failures in two minutes,
	// every minute.
	distinctRule = `{"id":"distinct-roles","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},` +
		`"aggregate":{"fn":"count_distinct","path":"$.actor.roles[0]"},"window":{"size":"2m","every":"1m"},"threshold":{"op":">","value":1},"alert":{"suppress":"0s"}}`
	// Failures per customer and first role, a running total (no event time, nothing
	// late): two alert.
	byRoleRule = `{"id":"failures-by-role","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},` +
		`"group_by":["$.actor.roles[0]"],"threshold":2}`
)

// windowEvent is one event of TestPreviewReplaysWindowsAsLive, named so that expected
// crossings can say which event took a window across.
type windowEvent struct {
	name string
	event
	sec int // seconds after the test's base time
}

// fire is a would-fire window as the test writes it by hand: group as JSON, window
// bounds and the crossing event relative to the base time ("" bounds: running total),
// the event by name.
type fire struct {
	customer, group string
	start, end      string
	value           float64
	count           int64
	event           string
}

func (f fire) String() string {
	return fmt.Sprintf("{%s %s [%s,%s) v=%v n=%d @%s}", f.customer, f.group, f.start, f.end, f.value, f.count, f.event)
}

// TestPreviewReplaysWindowsAsLive previews rules with group_by, windows and aggregates
// over lake events whose crossings are worked out by hand below, and checks them against
// the alerts live raised for the same rules over the same events. The events are chosen
// so that any other order of evaluation gives another answer: acme's a5 has an earlier
// record timestamp than a4 before it in its partition (late: it must not count, as it
// would in time order), and globex, on the other partition, has older times than acme
// (late if the partitions were replayed as one).
func TestPreviewReplaysWindowsAsLive(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, js := range []string{byTypeRule, distinctRule, byRoleRule} {
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(js), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("saving %s: %d %+v", js, resp.StatusCode, s)
		}
	}

	// Aligned to the hour, so that windows (aligned to the epoch) start at whole minutes
	// after it.
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	ev := func(name, cust, typ, role string, sec int) windowEvent {
		var roles []string
		if role != "" {
			roles = []string{role}
		}
		return windowEvent{name, event{customer: cust, typ: typ, roles: roles, at: base.Add(time.Duration(sec) * time.Second)}, sec}
	}
	evs := []windowEvent{ // in production order: each customer's in offset order
		ev("a0", "acme", "login.failed", "admin", 10), ev("g0", "globex", "login.failed", "user", 5),
		ev("a1", "acme", "login.ok", "admin", 15), ev("g1", "globex", "login.ok", "user", 6),
		ev("a2", "acme", "login.failed", "user", 50), ev("g2", "globex", "login.failed", "admin", 40),
		ev("a3", "acme", "login.ok", "user", 55), ev("g3", "globex", "file.read", "", 41),
		ev("a4", "acme", "login.failed", "admin", 70),
		ev("a5", "acme", "login.failed", "user", 20), // late: acme's watermark is at 70s
		ev("a6", "acme", "login.failed", "ops", 80),
		ev("a7", "acme", "login.ok", "admin", 100),
	}
	recs := make([]*kgo.Record, len(evs))
	for i, e := range evs {
		recs[i] = e.record()
	}
	d.b.Produce(t, recs...) // sets each record's partition and offset
	byName := map[string]*kgo.Record{}
	byPos := map[[2]int64]string{}
	for i, e := range evs {
		byName[e.name] = recs[i]
		byPos[[2]int64{int64(recs[i].Partition), recs[i].Offset}] = e.name
	}
	if byName["a0"].Partition == byName["g0"].Partition {
		t.Fatalf("acme and globex are both on partition %d: the test needs them apart", byName["a0"].Partition)
	}
	d.waitLake(t, int64(len(evs)))
	// Live's alerts for the saved rules: as many as the crossings worked out below.
	d.b.WaitTopicRecords(t, "alerts", 4+5+2, 30*time.Second)
	liveAlerts := livetest.Alerts(t, d.b.Consume(t, "alerts", 4+5+2, 30*time.Second))

	at := func(sec int) string { return (time.Duration(sec) * time.Second).String() }
	for _, tc := range []struct {
		name       string
		rule       string
		saved      bool // live evaluated it too
		plain      bool
		want       []fire // newest crossing event first
		late       uint64
		partitions int
		wouldAlert []string
		sampled    int // events of the rule's scope; 0: all
	}{
		{"group_by and a tumbling window", byTypeRule, true, false, []fire{
			{"acme", `{"$.type":"login.failed"}`, at(60), at(120), 2, 2, "a6"},
			{"acme", `{"$.type":"login.ok"}`, at(0), at(60), 2, 2, "a3"},
			{"acme", `{"$.type":"login.failed"}`, at(0), at(60), 2, 2, "a2"}, // not a5: late
			{"globex", `{"$.type":"login.failed"}`, at(0), at(60), 2, 2, "g2"},
		}, 1, 2, []string{"acme", "globex"}, 0},
		{"count_distinct over hopping windows", distinctRule, true, false, []fire{
			{"acme", "null", at(60), at(180), 2, 2, "a6"},
			{"acme", "null", at(-60), at(60), 2, 2, "a2"}, // one event, two windows
			{"acme", "null", at(0), at(120), 2, 2, "a2"},
			{"globex", "null", at(-60), at(60), 2, 2, "g2"},
			{"globex", "null", at(0), at(120), 2, 2, "g2"},
		}, 1, 2, []string{"acme", "globex"}, 0},
		{"group_by, running total", byRoleRule, true, false, []fire{
			{"acme", `{"$.actor.roles[0]":"admin"}`, "", "", 2, 2, "a4"},
			{"acme", `{"$.actor.roles[0]":"user"}`, "", "", 2, 2, "a5"}, // not late: a running total has no event time
		}, 0, 2, []string{"acme"}, 0},
		{"one customer's scope", strings.Replace(strings.Replace(byTypeRule, `"scope":"*"`, `"scope":"globex"`, 1), `"id":"logins-by-type",`, "", 1), false, false, []fire{
			{"globex", `{"$.type":"login.failed"}`, at(0), at(60), 2, 2, "g2"},
		}, 0, 1, []string{"globex"}, 4},
		{"a plain count keeps its per-customer verdict", `{"id":"p","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":3}`,
			false, true, nil, 0, 0, []string{"acme"}, 0}, // acme 5 failures, globex 2
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p console.PreviewResult
			if resp := call(t, "POST", d.url("/v1/console/preview"), "", draft(tc.rule), &p); resp.StatusCode != 200 {
				t.Fatalf("status %d: %+v", resp.StatusCode, p)
			}
			if want := cmp.Or(tc.sampled, len(evs)); p.Sample.Events != want || p.Truncated {
				t.Fatalf("sampled %d events, want %d (truncated %v %q)", p.Sample.Events, want, p.Truncated, p.TruncatedReason)
			}
			if p.Plain != tc.plain {
				t.Errorf("plain = %v, want %v", p.Plain, tc.plain)
			}
			got := make([]fire, len(p.WouldFire))
			for i, w := range p.WouldFire {
				g, err := json.Marshal(w.Group)
				if err != nil {
					t.Fatal(err)
				}
				f := fire{customer: w.Customer, group: string(g), value: w.Value, count: w.Count, event: byPos[[2]int64{int64(w.Partition), w.Offset}]}
				if (w.WindowStart == nil) != (w.WindowEnd == nil) {
					t.Errorf("window %+v has one bound", w)
				}
				if w.WindowStart != nil && w.WindowEnd != nil {
					f.start, f.end = w.WindowStart.Sub(base).String(), w.WindowEnd.Sub(base).String()
				}
				if rec := byName[f.event]; rec == nil || !w.EventTime.Equal(rec.Timestamp) {
					t.Errorf("window %v: event time %v, not that of the event at partition %d offset %d", f, w.EventTime, w.Partition, w.Offset)
				}
				if w.AlertID == "" || w.Aggregate == "" {
					t.Errorf("window %v: alert id %q, aggregate %q", f, w.AlertID, w.Aggregate)
				}
				got[i] = f
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("would fire:\n got %v\nwant %v", got, tc.want)
			}
			if p.WouldFireTotal != len(tc.want) {
				t.Errorf("would_fire_total %d, want %d", p.WouldFireTotal, len(tc.want))
			}
			if !slices.Equal(p.WouldAlert, tc.wouldAlert) {
				t.Errorf("would alert %v, want %v", p.WouldAlert, tc.wouldAlert)
			}
			for _, c := range p.Customers {
				if c.WouldAlert != slices.Contains(tc.wouldAlert, c.Customer) {
					t.Errorf("customer %+v: would_alert disagrees with %v", c, tc.wouldAlert)
				}
			}
			switch ws := p.WindowStats; {
			case tc.plain && ws != nil:
				t.Errorf("window stats %+v for a plain count", ws)
			case !tc.plain && ws == nil:
				t.Errorf("no window stats")
			case !tc.plain && (ws.Late != tc.late || ws.TimeErrors != 0 || ws.Partitions != tc.partitions || ws.Degraded != ""):
				t.Errorf("window stats %+v, want %d late over %d partitions", ws, tc.late, tc.partitions)
			}

			// Live, which evaluated the saved rules as the events arrived, raised the same
			// alerts: the same evaluator gives the same verdict.
			if !tc.saved {
				return
			}
			var saved struct{ ID string }
			if err := json.Unmarshal([]byte(tc.rule), &saved); err != nil {
				t.Fatal(err)
			}
			var fromLive []string
			for _, a := range liveAlerts {
				if a.RuleID == saved.ID {
					fromLive = append(fromLive, alertText(a.AlertID, a.Customer, a.Group, a.WindowStart, a.WindowEnd, a.Aggregate, a.Value, a.Count, a.Partition, a.Offset, a.EventTime))
				}
			}
			var fromPreview []string
			for _, w := range p.WouldFire {
				fromPreview = append(fromPreview, alertText(w.AlertID, w.Customer, w.Group, w.WindowStart, w.WindowEnd, w.Aggregate, w.Value, w.Count, w.Partition, w.Offset, w.EventTime))
			}
			slices.Sort(fromLive)
			slices.Sort(fromPreview)
			if !slices.Equal(fromLive, fromPreview) {
				t.Errorf("live raised\n %v\nthe preview says\n %v", fromLive, fromPreview)
			}
		})
	}
}

// alertText is one alert's fields that a would-fire window repeats, as one comparable
// line.
func alertText(id, customer string, group map[string]json.RawMessage, start, end *time.Time, agg string, value float64, count int64, partition int32, offset int64, at time.Time) string {
	g, _ := json.Marshal(group)
	bound := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s %s %s [%s,%s) %s=%v n=%d p%d@%d %s", id, customer, g, bound(start), bound(end), agg, value, count, partition, offset, at.UTC().Format(time.RFC3339Nano))
}
