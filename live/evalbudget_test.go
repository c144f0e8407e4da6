package live_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestEvalCutShortIsCounted: a rule path whose evaluation on an event runs out of
// jsonpath's work budget gets a truncated result, and the rule may miss the event
// ($..a..b over 990 nested "a" members above a 100,000-element array does not reach
// $.y.a.b). That was silent (found by a review helper); it is counted in
// hindsight_eval_budget_exceeded_total, an event that needs no such work is not.
func TestEvalCutShortIsCounted(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Registry = reg })
	r := livetest.ParseRule(t, `{"id":"nested-b","scope":"*","when":{"path":"$..a..b"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	poll.Until(t, 20*time.Second, "rule active", func() bool { return promtest.Sum(t, reg, "hindsight_rules_active") == 1 })
	b.Produce(t, livetest.Event("c-1", `{"y":{"a":{"b":1}}}`), livetest.Event("c-1", deepEvent("")))
	poll.Until(t, 20*time.Second, "both events evaluated", func() bool {
		ps := d.State().Partitions
		return len(ps) == 1 && ps[0].NextOffset >= 2
	})
	if got := promtest.Sum(t, reg, "hindsight_eval_budget_exceeded_total"); got != 1 {
		t.Errorf("hindsight_eval_budget_exceeded_total = %v, want 1 (the deep event only)", got)
	}
	// The budget is a rule limit (--max-rule-eval-work): shown, and its reaching counted.
	if got := promtest.Value(t, reg, "hindsight_limit", "name", rule.LimitEvalWork); got != float64(rule.DefaultLimits.MaxEvalWork) {
		t.Errorf("hindsight_limit{name=%q} = %v, want %d", rule.LimitEvalWork, got, rule.DefaultLimits.MaxEvalWork)
	}
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", rule.LimitEvalWork); got != 1 {
		t.Errorf("hindsight_limit_reached_total{name=%q} = %v, want 1", rule.LimitEvalWork, got)
	}
}

// deepEvent is an event (about 200 KB, depth 992) on which $..a..b runs out of
// jsonpath's work budget: 990 nested "a" members over a 100,000-element array under
// "x", then "y":{"a":{"b":1}}, which the path never reaches. members, if not empty,
// come first.
func deepEvent(members string) string {
	const depth, width = 990, 100_000
	var ev strings.Builder
	ev.WriteString("{")
	if members != "" {
		ev.WriteString(members + ",")
	}
	ev.WriteString(`"x":` + strings.Repeat(`{"a":`, depth) + "[0" + strings.Repeat(",0", width-1) + "]" + strings.Repeat(`}`, depth))
	ev.WriteString(`,"y":{"a":{"b":1}}}`)
	return ev.String()
}

// TestEvalCutShortCountedInHandoffBackfill: a plain rule ($..a..b, threshold 1) made
// after the deep event was produced hands its history, that event and a shallow one
// it counts, to a backfill (from Kafka, no lake). The backfill's Go evaluation runs
// out of the work budget as live's does, and the rule misses the event: that was
// silent (a review helper's test); it is counted as live's evaluations are.
func TestEvalCutShortCountedInHandoffBackfill(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.NoBackfill = false; c.Registry = reg })
	b.Produce(t, livetest.Event("c-2", `{"y":{"a":{"b":1}}}`), livetest.Event("c-1", deepEvent("")))
	waitCommitted(t, b, d, "the shallow and the deep event, before any rule")

	js := `{"id":"nested-b","scope":"*","when":{"path":"$..a..b"},"threshold":1}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	poll.Until(t, 60*time.Second, "the rule live (hand-off backfill done)", func() bool {
		vs := d.Rules()
		return len(vs) == 1 && vs[0].Status == contract.RuleLive
	})
	if shallow, _ := d.Count(r.Key(), "c-2"); shallow.Count != 1 {
		t.Fatalf("the backfill counted c-2's shallow event %d times, want 1: it did not read the history", shallow.Count)
	}
	if deep, _ := d.Count(r.Key(), "c-1"); deep.Count != 0 {
		t.Fatalf("the backfill counted the deep event (%d): its evaluation was not cut short, nothing to show", deep.Count)
	}
	exceeded := promtest.Sum(t, reg, "hindsight_eval_budget_exceeded_total")
	reached := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", rule.LimitEvalWork)
	if exceeded != 1 || reached != 1 {
		t.Errorf("hindsight_eval_budget_exceeded_total = %v, hindsight_limit_reached_total{name=%q} = %v; want 1 and 1 (the deep event's evaluation in the hand-off)",
			exceeded, rule.LimitEvalWork, reached)
	}
}
