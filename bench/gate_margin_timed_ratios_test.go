package bench_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

// TestMarginGovernsTimedRatiosOnly: --margin is the gate's margin for timed ratios (a
// stricter one fails a throughput ratio that fell by a fifth), while a ratio that
// carries a margin of its own in the reference keeps it whatever --margin says: the
// latency p50 ratio compares two phases run one after the other (PhasedMargin), so a
// --margin 0.1 does not fail it at 3× its reference. The help of --margin and the
// README say so; they said --margin governed every timed ratio.
func TestMarginGovernsTimedRatiosOnly(t *testing.T) {
	t.Parallel()
	ref := sampleReport(t, "testdata/ci-reference.json")
	failed := func(regs []bench.Regression, benchmark, ratio string) bool {
		for _, g := range regs {
			if g.Benchmark == benchmark && g.Ratio == ratio {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		benchmark, ratio string
		scale            float64
		margin           float64
		fails            bool
	}{
		{"throughput", "1 rule vs floor", 0.8, 0.1, true},
		{"throughput", "1 rule vs floor", 0.8, 0.5, false},
		{"latency", "p50 vs pass-through", 3, 0.1, false},
		{"latency", "p50 vs pass-through", 5, 0.1, true},
	} {
		cur := sampleReport(t, "testdata/ci-reference.json")
		r := cur.Result(tc.benchmark).Ratio(tc.ratio)
		if r == nil {
			t.Fatalf("the reference has no %s %q ratio", tc.benchmark, tc.ratio)
		}
		r.Value *= tc.scale
		regs, err := bench.Gate(ref, cur, tc.margin)
		if err != nil {
			t.Fatal(err)
		}
		if got := failed(regs, tc.benchmark, tc.ratio); got != tc.fails {
			t.Errorf("--margin %v, %s %q at %v× its reference: failed %v, want %v (regressions %+v)",
				tc.margin, tc.benchmark, tc.ratio, tc.scale, got, tc.fails, regs)
		}
	}
}
