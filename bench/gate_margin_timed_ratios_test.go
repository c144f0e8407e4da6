package bench_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

// hindsight bench --help says of --margin: "gate margin for timed ratios, above 0 and
// below 1 (0.5: may fall to half the reference)". The latency p50 ratio is a timed
// ratio, yet the reference's own Margin (PhasedMargin 0.75) replaces --margin for it:
// a run whose p50 ratio tripled passes a gate asked for --margin 0.1, which the help
// says lets a timed ratio grow by a ninth at most.
func TestMarginGovernsEveryTimedRatio(t *testing.T) {
	t.Parallel()
	ref := sampleReport(t, "testdata/ci-reference.json")
	cur := sampleReport(t, "testdata/ci-reference.json")
	const name = "p50 vs pass-through"
	r := cur.Result("latency").Ratio(name)
	if r == nil || r.Better != bench.LowerIsBetter {
		t.Fatalf("the reference has no lower-is-better latency %q ratio", name)
	}
	r.Value *= 3
	regs, err := bench.Gate(ref, cur, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range regs {
		if g.Benchmark == "latency" && g.Ratio == name {
			return
		}
	}
	t.Errorf("--margin 0.1: latency %q at 3× its reference (%v against %v) passed the gate (regressions %+v): --margin does not govern this timed ratio",
		name, r.Value, ref.Result("latency").Ratio(name).Value, regs)
}
