package bench_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

// "alerts delivered" is probe alerts received over probes sent: every probe raises
// exactly one alert, so anything below 1 is alerts lost (Missing), which the product
// never allows. The gate gives it StableMargin (5%) like a compression ratio, so a run
// that lost 1 in 100 — 250 of the CI suite's 25,000 probes — passes make bench-ci.
func TestGateFailsARunThatLostAlerts(t *testing.T) {
	t.Parallel()
	ref := sampleReport(t, "testdata/ci-reference.json")
	if v := ref.Result("latency").Ratio("alerts delivered").Value; v != 1 {
		t.Fatalf("the reference delivered %v of its alerts", v)
	}
	for _, delivered := range []float64{0.999, 0.99, 0.96} {
		cur := sampleReport(t, "testdata/ci-reference.json")
		cur.Result("latency").Ratio("alerts delivered").Value = delivered
		regs, err := bench.Gate(ref, cur, bench.DefaultMargin)
		if err != nil {
			t.Fatal(err)
		}
		if len(regs) == 0 {
			t.Errorf("alerts delivered %v (%.1f%% of the probes' alerts lost): the gate passed", delivered, 100*(1-delivered))
		}
	}
}
