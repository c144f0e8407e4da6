package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestHistoryAlertsAreBounded: a rule with backfill: {alert: true} whose history fires
// 30 times (an event a minute, each its own group) under --max-history-alerts 10
// sends the first 10 firings and their resolves, no more: the other 20 are counted in
// the rule's history (alerts_cut) and in /metrics, and their incidents, opened silent,
// send no resolve when a later event closes them. A hand-off kept every history
// crossing in memory to send it, however many (1,440 an event for a day-long window
// every minute).
func TestHistoryAlertsAreBounded(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.NoBackfill, c.MaxHistoryAlerts, c.Registry = false, 10, reg })
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	event := func(i int) *kgo.Record {
		at := base.Add(time.Duration(i) * time.Minute)
		return &kgo.Record{Topic: "events", Key: []byte("c-1"), Timestamp: at,
			Value: fmt.Appendf(nil, `{"kind":"fail","id":"e-%d","ts":%q}`, i, at.Format(time.RFC3339))}
	}
	var history []*kgo.Record
	for i := range 30 {
		history = append(history, event(i))
	}
	b.Produce(t, history...)
	waitSeen(t, d, 30)
	r := livetest.ParseRule(t, `{"id":"each","scope":"*","when":{"path":"$.kind","op":"==","value":"fail"},"group_by":["$.id"],
		"window":{"size":"1m"},"time":"$.ts","threshold":1,"backfill":{"alert":true},"alert":{"resolve":true}}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), r.Version)
	poll.Until(t, 30*time.Second, "the rule live", func() bool {
		v := ruleView(t, d, r.Key())
		return v.Status == contract.RuleLive && v.History != nil
	})
	if h := ruleView(t, d, r.Key()).History; h.Firings != 30 || h.AlertsCut != 20 || !h.Alerted {
		t.Errorf("history: %d firings, %d cut, alerted %v; want 30, 20, true", h.Firings, h.AlertsCut, h.Alerted)
	}
	// A live event an hour on closes every window: resolves of sent firings only.
	b.Produce(t, event(90))
	waitSeen(t, d, 31)
	alerts := alertsOn(t, b, 21)
	var firings, resolves []string
	for _, a := range alerts {
		if a.Status == contract.StatusResolved {
			resolves = append(resolves, string(a.Group["$.id"]))
		} else {
			firings = append(firings, string(a.Group["$.id"]))
		}
	}
	want := func(ids ...int) string {
		s := ""
		for _, i := range ids {
			s += fmt.Sprintf(`"e-%d" `, i)
		}
		return s
	}
	got := func(ids []string) string {
		s := ""
		for _, id := range ids {
			s += id + " "
		}
		return s
	}
	if got(firings) != want(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 90) || got(resolves) != want(0, 1, 2, 3, 4, 5, 6, 7, 8, 9) {
		t.Errorf("firings %s, resolves %s; want e-0 to e-9 and e-90, resolves of e-0 to e-9", got(firings), got(resolves))
	}
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", "max_history_alerts"); n != 20 {
		t.Errorf("hindsight_limit_reached_total{name=max_history_alerts} = %v, want 20", n)
	}
}
