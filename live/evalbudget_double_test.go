package live_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestEvalCutShortCountsEvaluations: hindsight_eval_budget_exceeded_total counts
// evaluations cut short, as its help says. A review helper found it said "events" while
// an event buffered for a pending hand-off counted again when the hand-off evaluated
// it; the count is of evaluations: the deep event counts once for the live rule's
// group path at arrival, once more when the hand-off adds it to the other rule, and
// once again when it comes back with both rules live (their shared group path is
// evaluated once for both).
func TestEvalCutShortCountsEvaluations(t *testing.T) {
	// Not parallel: it sets the package's hand-off job hook.
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.NoBackfill = false; c.Registry = reg })
	b.Produce(t, livetest.Event("c-1", `{"kind":"x"}`))
	waitCommitted(t, b, d, "the first event")

	// A live windowed rule with the same deep group path, its hand-off not held.
	liveJS := `{"id":"deep-live","scope":"*","when":{"path":"$.kind","op":"exists"},"group_by":["$..a..b"],"window":{"size":"10m"},"threshold":100}`
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, liveJS)))
	waitActive(t, d, []string{liveJS})
	poll.Until(t, 60*time.Second, "the first rule live", func() bool {
		vs := d.Rules()
		return len(vs) == 1 && vs[0].Status == contract.RuleLive
	})

	release, restore := holdJobs(livetest.Group(t))
	defer restore()
	js := `{"id":"deep-group","scope":"*","when":{"path":"$.kind","op":"exists"},"group_by":["$..a..b"],"window":{"size":"10m"},"threshold":100}`
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, js)))
	waitActive(t, d, []string{liveJS, js})

	deep := deepEvent(`"kind":"x"`)

	b.Produce(t, livetest.Event("c-1", deep))
	waitCommitted(t, b, d, "the deep event")
	before := promtest.Sum(t, reg, "hindsight_eval_budget_exceeded_total")
	release()
	poll.Until(t, 60*time.Second, "both rules live (hand-off done)", func() bool {
		vs := d.Rules()
		return len(vs) == 2 && vs[0].Status == contract.RuleLive && vs[1].Status == contract.RuleLive
	})
	after := promtest.Sum(t, reg, "hindsight_eval_budget_exceeded_total")

	// The same event with both rules live: one event, one count.
	b.Produce(t, livetest.Event("c-1", deep))
	waitCommitted(t, b, d, "the deep event again")
	total := promtest.Sum(t, reg, "hindsight_eval_budget_exceeded_total")
	t.Logf("hindsight_eval_budget_exceeded_total: %v after HandleBatch, %v after the hand-off, %v after the same event with both rules live", before, after, total)
	if before != 1 || after != 2 || total != 3 {
		t.Errorf("evaluations cut short: %v at arrival, %v after the hand-off, %v after the event again with both rules live; want 1, 2, 3", before, after, total)
	}
}
