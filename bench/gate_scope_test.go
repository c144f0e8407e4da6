package bench_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

// Publish gates the benchmarks the run was asked for (PublishConfig.Benchmarks): a run
// of eval alone is judged on eval's ratios, and says which of the reference's
// benchmarks it did not gate; a run asked for every benchmark, as make bench-ci's
// `bench all` is, fails when one of them is missing from its report.
func TestPublishGatesTheBenchmarksAskedFor(t *testing.T) {
	t.Parallel()
	const refPath = "testdata/ci-reference.json"
	ref := sampleReport(t, refPath)

	evalOnly := sampleReport(t, refPath)
	evalOnly.Results = []bench.Result{*ref.Result("eval")}
	var out bytes.Buffer
	if err := bench.Publish(evalOnly, bench.PublishConfig{Table: &out, Reference: refPath, Benchmarks: []string{"eval"}}); err != nil {
		t.Errorf("eval alone, as the reference measured it: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "not run, so not gated: archive, backfill, throughput, latency") {
		t.Errorf("the gate did not say what it left out:\n%s", out.String())
	}

	noLatency := sampleReport(t, refPath)
	noLatency.Results = slices.DeleteFunc(noLatency.Results, func(r bench.Result) bool { return r.Name == "latency" })
	out.Reset()
	err := bench.Publish(noLatency, bench.PublishConfig{Table: &out, Reference: refPath, Benchmarks: bench.Benchmarks})
	if !errors.Is(err, bench.ErrRegression) || !strings.Contains(err.Error(), "latency/alerts delivered") || !strings.Contains(err.Error(), "latency/p50 vs pass-through") {
		t.Errorf("every benchmark asked for, latency missing: %v\n%s", err, out.String())
	}

	out.Reset()
	err = bench.Publish(noLatency, bench.PublishConfig{Table: &out, Reference: refPath})
	if !errors.Is(err, bench.ErrRegression) || !strings.Contains(err.Error(), "latency/") {
		t.Errorf("no benchmarks named (the reference's all), latency missing: %v\n%s", err, out.String())
	}

	other := sampleReport(t, refPath)
	other.Results = nil
	out.Reset()
	if err := bench.Publish(other, bench.PublishConfig{Table: &out, Reference: refPath, Benchmarks: []string{"nope"}}); err == nil {
		t.Errorf("a reference that gates none of the benchmarks run passed:\n%s", out.String())
	}
}
