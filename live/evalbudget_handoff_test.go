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

// TestEvalCutShortCountedForBufferedEvent: a windowed rule whose group_by path
// ($..a..b) runs out of jsonpath's work budget on an event. Evaluated at once (the
// rule live), the event is counted in hindsight_eval_budget_exceeded_total; matched
// while the rule's hand-off is pending, the event is buffered and its group path is
// evaluated later by applyWindowHandoff on a Document of its own, whose
// BudgetExceeded nothing read: the event was never counted (found by a review helper).
func TestEvalCutShortCountedForBufferedEvent(t *testing.T) {
	// Not parallel: it sets the package's hand-off job hook.
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	release, restore := holdJobs(livetest.Group(t))
	defer restore()
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.NoBackfill = false; c.Registry = reg })
	b.Produce(t, livetest.Event("c-1", `{"kind":"x"}`))
	waitCommitted(t, b, d, "the first event")

	js := `{"id":"deep-group","scope":"*","when":{"path":"$.kind","op":"exists"},"group_by":["$..a..b"],"window":{"size":"10m"},"threshold":100}`
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, js)))
	waitActive(t, d, []string{js})

	deep := deepEvent(`"kind":"x"`)

	// Matched while the hand-off is held: buffered.
	b.Produce(t, livetest.Event("c-1", deep))
	waitCommitted(t, b, d, "the deep event (buffered)")
	release()
	poll.Until(t, 60*time.Second, "the rule live (hand-off done)", func() bool {
		vs := d.Rules()
		return len(vs) == 1 && vs[0].Status == contract.RuleLive
	})
	buffered := promtest.Sum(t, reg, "hindsight_eval_budget_exceeded_total")

	// The same event once the rule is live: evaluated in HandleBatch.
	b.Produce(t, livetest.Event("c-1", deep))
	waitCommitted(t, b, d, "the deep event (live)")
	total := promtest.Sum(t, reg, "hindsight_eval_budget_exceeded_total")
	t.Logf("hindsight_eval_budget_exceeded_total: %v after the buffered event, %v after the same event evaluated live", buffered, total)
	if total != 2 || buffered != 1 {
		t.Errorf("hindsight_eval_budget_exceeded_total = %v after the buffered deep event and %v after the live one; want 1 and 2: the buffered event's group path ran out of budget uncounted", buffered, total)
	}
}
