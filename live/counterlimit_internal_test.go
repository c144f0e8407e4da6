package live

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestFullNamesAreToldApart: --max-customer-ids-bytes 100,000 holds one 64 KiB page of
// names, 655 ids of 100 bytes: a hand-off's other 345 customers are refused under
// that limit, not --max-counters, which the store is far from (a review found the view
// and metrics blaming --max-counters, even when it set no bound); the rule's view
// names both bounds, with a negative --max-counters shown as none.
func TestFullNamesAreToldApart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		maxCounters int
		bound       string
	}{
		{DefaultMaxCounters, "(at --max-counters 10000000 counters, or --max-customer-ids-bytes 100000 bytes of customer ids;"},
		{-1, "(at --max-customer-ids-bytes 100000 bytes of customer ids; --max-counters sets no bound;"},
	} {
		f := newStateFixture(t, 1)
		d := f.d
		reg := prometheus.NewRegistry()
		d.cfg.MaxCounters, d.cfg.MaxCustomerIDBytes, d.m, d.log = tc.maxCounters, 100_000, newMetrics(reg), d.cfg.Logger
		p := d.newPartition(0)
		d.parts = map[int32]*partition{0: p}
		ar := f.rules[0]
		pb := &pendingBackfill{start: 100, began: time.Now(), cancel: func() {}}
		p.next, p.starts[ar], p.pending[ar] = 100, 100, pb
		counts := map[string]int64{}
		for i := range 1000 {
			counts[fmt.Sprintf("%0100d", i)] = 2
		}
		d.applyBackfill(p, ar, pb, &backfill.Result{Counts: counts})
		if p.refused[ar] != 2*345 || p.counts.live != 655 {
			t.Fatalf("max %d: %d matches refused, %d counters; want 690 (345 customers') and 655", tc.maxCounters, p.refused[ar], p.counts.live)
		}
		for limit, want := range map[string]float64{limitCustomerIDs: 690, limitCounters: -1 /* no series */} {
			if got := promtest.Value(t, reg, "hindsight_window_limit_drops_total", "limit", limit); got != want {
				t.Errorf("max %d: drops{limit=%s} = %v, want %v", tc.maxCounters, limit, got, want)
			}
		}
		if why := d.refusedView(ar); !strings.Contains(why, tc.bound) || !strings.HasSuffix(why, ": 690 matches that needed a new counter were not counted") {
			t.Errorf("max %d: the rule view says %q; want %q and the 690 matches", tc.maxCounters, why, tc.bound)
		}
	}
}

// TestTopCountsCarryTheRuleStatus: the largest counts (the demo's board) carry their
// rule's status as /v1/counts does; they said live for a rule whose partition refused
// matches (a review's test).
func TestTopCountsCarryTheRuleStatus(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 2)
	d := f.d
	d.cfg.MaxCounters, d.m, d.log = 1, newMetrics(prometheus.NewRegistry()), d.cfg.Logger
	p := d.newPartition(0)
	d.parts = map[int32]*partition{0: p}
	full, other := f.rules[0], f.rules[1]
	p.starts[full], p.starts[other] = 0, 0
	p.counts.add(p.counts.intern("c-1"), full.Seq, 3)
	if ci := p.counts.intern("c-2"); ci != noRoom {
		t.Fatalf("c-2 interned at %d past the bound", ci)
	}
	d.counterRefused(p, full, 1, noRoom)
	p.counts.max = 0 // the other rule's count is made by hand
	p.counts.add(p.counts.intern("c-1"), other.Seq, 2)
	got := map[string]string{}
	for _, v := range d.TopCounts(10) {
		got[v.RuleID] = v.Status
	}
	if got[full.Key.ID] != contract.RuleDegraded || got[other.Key.ID] != contract.RuleLive {
		t.Errorf("top counts' statuses %v; want %s degraded, %s live", got, full.Key.ID, other.Key.ID)
	}
}
