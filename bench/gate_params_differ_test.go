package bench_test

import (
	"bytes"
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

// A ratio measured over other work is no measure of a regression: eval's "cost of 10×
// the rules" at 100 rules against the reference's at 1000, or archive's compression of
// 2,000 events against 200,000. Compare says "params differ"; the gate must not call
// such ratios "within margin of the reference" and pass — it must refuse the
// comparison (or at least say so). Here each report is the CI reference with one
// benchmark's params changed, its ratios untouched.
func TestGateRefusesRatiosMeasuredWithOtherParams(t *testing.T) {
	t.Parallel()
	cases := []struct{ benchmark, param, value string }{
		{"eval", "rules", "100"},
		{"archive", "events", "2000"},
		{"latency", "rate", "100"},
	}
	for _, c := range cases {
		t.Run(c.benchmark+"/"+c.param, func(t *testing.T) {
			ref := sampleReport(t, "testdata/ci-reference.json")
			cur := sampleReport(t, "testdata/ci-reference.json")
			cur.Result(c.benchmark).Params[c.param] = c.value
			var out bytes.Buffer
			err := bench.CheckGate(&out, ref, cur, bench.DefaultMargin)
			if err == nil && !bytes.Contains(out.Bytes(), []byte(c.param)) {
				t.Errorf("%s measured with %s=%s (reference %s): gate passed without a word: %q", c.benchmark, c.param, c.value,
					ref.Result(c.benchmark).Params[c.param], bytes.TrimSpace(out.Bytes()))
			}
		})
	}
}
