package main

import (
	"strings"
	"testing"
)

// `bench all --only eval --gate REF` (and `bench eval --gate REF`) asks for eval
// alone, gated on eval's ratios. Against the reference make bench-ci keeps, which
// holds every benchmark, the gate counts every gated ratio of the benchmarks it was
// told not to run as a regression, so a single-benchmark run can never pass against
// it, whatever eval measured.
func TestBenchGateOnlyJudgesTheBenchmarksRun(t *testing.T) {
	t.Parallel()
	ref := "../../bench/testdata/ci-reference.json"
	out, err := run(t, "", "bench", "all", "--only", "eval", "--quiet", "--duration", "100ms", "--rules", "10", "--gate", ref)
	for _, other := range []string{"archive/", "backfill/", "throughput/", "latency/"} {
		if err != nil && strings.Contains(err.Error(), other) {
			t.Errorf("bench all --only eval --gate %s: exit %d: %v", ref, exitCode(err), err)
			break
		}
	}
	if !strings.Contains(out, "eval: live evaluator") {
		t.Errorf("eval did not run: %v\n%s", err, out)
	}
}
