package main

import (
	"strings"
	"testing"
)

// `bench all --only archive --gate REF` (and `bench eval --gate REF`) asks for one
// benchmark alone, gated on its ratios. Against the reference make bench-ci keeps,
// which holds every benchmark, the gate counts every gated ratio of the benchmarks it
// was told not to run as a regression, so a single-benchmark run can never pass
// against it, whatever it measured. The archive of 2,000 events is the benchmark run:
// the cheapest of bench all's (well under a second; eval's high-cardinality pass of a
// million groups, which bench all cannot shrink, took seconds of CPU), and its
// params differ from the reference's, which the gate reports as one regression of the
// archive's own: what must not be in the error is another benchmark's.
func TestBenchGateOnlyJudgesTheBenchmarksRun(t *testing.T) {
	t.Parallel()
	ref := "../../bench/testdata/ci-reference.json"
	out, err := run(t, "", "bench", "all", "--only", "archive", "--quiet", "--events", "2000", "--gate", ref)
	for _, other := range []string{"eval/", "backfill/", "throughput/", "latency/"} {
		if err != nil && strings.Contains(err.Error(), other) {
			t.Errorf("bench all --only archive --gate %s: exit %d: %v", ref, exitCode(err), err)
			break
		}
	}
	if !strings.Contains(out, "archive: ") {
		t.Errorf("the archive benchmark did not run: %v\n%s", err, out)
	}
}
