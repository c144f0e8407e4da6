package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestRuleChurnDoesNotGrowMetricSeries: windowed rules made, fed an event without a
// usable time, and deleted, one id after another. Nothing is active at the end, and
// /metrics must keep no hindsight_event_time_errors_total{rule} series (nor late
// events, window drops, suppressed alerts) of a deleted rule: they were never deleted,
// so churn of rule ids (or of customers' rules, whose label holds the customer) grew
// /metrics without bound (found by a review helper).
func TestRuleChurnDoesNotGrowMetricSeries(t *testing.T) {
	t.Parallel()
	const n = 12
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Registry = reg })
	active := func() float64 { return promtest.Sum(t, reg, "hindsight_rules_active") }
	for i := range n {
		r := livetest.ParseRule(t, fmt.Sprintf(`{"id":"churn-%d","scope":"*","when":{"path":"$.type","op":"==","value":"x"},
			"group_by":["$.user"],"window":{"size":"10m"},"time":"$.ts","threshold":3}`, i))
		b.Produce(t, livetest.Upsert(t, r))
		poll.Until(t, 20*time.Second, "rule active", func() bool { return active() == 1 })
		b.Produce(t, livetest.Event("c-1", `{"type":"x","user":"a","ts":"yesterday"}`))
		poll.Until(t, 20*time.Second, "time error counted", func() bool {
			return promtest.Sum(t, reg, "hindsight_event_time_errors_total") == 1 // the earlier rules' series are gone
		})
		b.Produce(t, livetest.Delete(t, r.Key()))
		poll.Until(t, 20*time.Second, "rule deleted", func() bool { return active() == 0 })
	}
	if got := d.Registry().Len(); got != 0 {
		t.Fatalf("%d rules active, want 0", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		if mf.GetName() == "hindsight_event_time_errors_total" {
			series = len(mf.GetMetric())
		}
	}
	t.Logf("after %d windowed rules made and deleted, none active: %d series of hindsight_event_time_errors_total{rule}", n, series)
	if series > 0 {
		t.Fatalf("/metrics keeps %d hindsight_event_time_errors_total{rule} series of deleted rules; one per rule id ever used, no bound, no flag", series)
	}
}
