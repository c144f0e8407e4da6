package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// A flood of controls (one rule per customer, published at once) is applied a fetch at
// a time: the rule index is rebuilt per fetch, not per control, so applying N rules
// costs O(N) index work instead of O(N²).
func TestControlFloodAppliesInBatches(t *testing.T) {
	t.Parallel()
	n := 4000
	if testing.Short() {
		// The bound is on rebuilds per control, which any n shows: 4000 controls took
		// 2 rebuilds, 800 too, and publishing per control makes n of them. The race
		// pass took 15.7 s over 4000.
		n = 800
	}
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Registry = reg })
	select {
	case <-d.RulesLoaded():
	case <-time.After(30 * time.Second):
		t.Fatal("rules not loaded")
	}
	builds := func() float64 { return promtest.Sum(t, reg, "hindsight_rule_index_builds_total") }
	before := builds()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		r := livetest.ParseRule(t, fmt.Sprintf(`{"id":"flood","scope":"c-%05d","version":1,"threshold":3,"when":{"path":"$.type","op":"==","value":"x"}}`, i))
		recs[i] = livetest.Upsert(t, r)
	}
	b.Produce(t, recs...)
	poll.Until(t, 120*time.Second, fmt.Sprintf("%d rules active in the evaluator", n), func() bool {
		return promtest.Sum(t, reg, "hindsight_rules_active") == float64(n)
	})
	rebuilt := builds() - before
	if rebuilt < 1 || rebuilt > float64(n/20) {
		t.Fatalf("%d controls rebuilt the rule index %v times; want at least once and at most %d", n, rebuilt, n/20)
	}
	t.Logf("%d controls: %v index rebuilds", n, rebuilt)
	if got := d.Registry().Len(); got != n {
		t.Fatalf("registry holds %d rules, want %d", got, n)
	}
}
