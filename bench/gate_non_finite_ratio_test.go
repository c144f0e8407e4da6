package bench_test

import (
	"math"
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

// A gated ratio is one positive, finite measurement over another: +Inf, a negative
// value or 0 in the current report, or 0 in the reference, can only come from a
// broken measurement (a side that took no time, a difference of CPU times that went
// negative, a reference recorded from a failed run). The gate must fail on it, as it
// does on NaN and on a missing ratio, not count it as within the margin.
func TestGateFailsOnANonFiniteOrNonPositiveRatio(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name             string
		benchmark, ratio string
		cur, ref         float64 // ref 0: the reference's own value
	}{
		{"+Inf, higher is better", "eval", "throughput vs baseline", math.Inf(1), 0},
		{"-Inf, lower is better", "latency", "p50 vs pass-through", math.Inf(-1), 0},
		{"negative, lower is better", "eval", "cost of 10× the rules, customers' own", -2, 0},
		{"zero, lower is better", "latency", "p50 vs pass-through", 0, 0},
		{"zero in the reference and in the run, higher is better", "backfill", "faster than replay", 0, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := sampleReport(t, "testdata/ci-reference.json")
			if c.ref == -1 {
				ref.Result(c.benchmark).Ratio(c.ratio).Value = 0
			}
			cur := sampleReport(t, "testdata/ci-reference.json")
			cur.Result(c.benchmark).Ratio(c.ratio).Value = c.cur
			regs, err := bench.Gate(ref, cur, bench.DefaultMargin)
			if err != nil {
				t.Fatal(err)
			}
			if len(regs) == 0 {
				t.Errorf("gate passed %s/%s = %v (reference %v): want a regression", c.benchmark, c.ratio, c.cur,
					ref.Result(c.benchmark).Ratio(c.ratio).Value)
			}
		})
	}
}
