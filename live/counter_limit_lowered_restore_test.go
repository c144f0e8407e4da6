package live_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestRestoreOverLoweredCounterLimitIsVisible: a daemon restarted with --max-counters
// lowered below the counters its snapshot holds (5 customers' counters, restarted at
// 2) restores them all, as the store says it should ("what a restore brings back is
// not refused"). Holding more than its limit must then be visible, as a window state
// restored over --max-groups is (degraded, window.TestDecodeUnderLowerLimitsIsBoundedOrDegraded):
// the rule degraded, saying why, and the excess counted as the limit reached, as
// docs/architecture.md and the README say. Nothing said so: the rule ok,
// hindsight_limit_reached_total{name="max_counters"} 0, the partition over its bound.
// (The test accepted either sign alone, so losing one of them went unseen.)
func TestRestoreOverLoweredCounterLimitIsVisible(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := t.TempDir()
	conf := func(reg *prometheus.Registry, maxCounters int) func(c *live.Config) {
		return func(c *live.Config) {
			c.Group, c.StateURL, c.Registry, c.MaxCounters = "counter-lowered", "file://"+state, reg, maxCounters
		}
	}
	d, stop := livetest.StartLive(t, b, conf(prometheus.NewRegistry(), 0))
	r := livetest.ParseRule(t, `{"id":"many","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)
	for i := range 5 {
		b.Produce(t, ev(fmt.Sprintf("c-%d", i), `{"type":"x"}`))
	}
	waitSeen(t, d, 5)
	stop()
	<-d.Done()

	reg := prometheus.NewRegistry()
	d2, _ := livetest.StartLive(t, b, conf(reg, 2))
	waitRule(t, d2, r.Key(), 1)
	poll.Until(t, wait, "the partition restored", func() bool { return count(t, d2, r.Key(), "c-0") == 1 })
	held := 0
	for i := range 5 {
		held += int(count(t, d2, r.Key(), fmt.Sprintf("c-%d", i)))
	}
	if held != 5 {
		t.Fatalf("restored %d counters' counts, want 5 (the test expects the restore to keep them)", held)
	}
	v := ruleView(t, d2, r.Key())
	if v.Status != contract.RuleDegraded || !strings.Contains(v.Degraded, "restored over") || !strings.Contains(v.Degraded, "--max-counters 2") {
		t.Errorf("restored 5 counters under --max-counters 2: rule status %q, degraded %q; want degraded, saying it was restored over --max-counters 2",
			v.Status, v.Degraded)
	}
	// The excess: 5 counters restored, 2 allowed.
	if reached := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", "max_counters"); reached != 3 {
		t.Errorf("restored 5 counters under --max-counters 2: hindsight_limit_reached_total{name=max_counters} %v, want 3 (the counters over it)", reached)
	}
}
