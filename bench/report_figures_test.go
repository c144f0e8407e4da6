package bench_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/bench"
)

// A throughput run without an archiving run measures no zstd JSON lines baseline
// (RunThroughput runs it only with 1-archive), so the report must not carry a figure
// for it: a 0 CPU-s per million reads as a free baseline, and compare shows -100%.
// TestThroughputReportsNoArchiveBaselineItDidNotRun: the zstd JSON lines baseline runs
// only with an archiving run; without one the report had its figure as 0 CPU, which
// compare read as -100% (found by a review helper).
func TestThroughputReportsNoArchiveBaselineItDidNotRun(t *testing.T) {
	t.Parallel()
	cfg := bench.ThroughputConfig{Events: 100_000, Runs: []string{"floor", "1"}}
	cfg.EnsureDefaults()
	rep := &bench.ThroughputReport{Config: cfg, Cores: 2,
		Floor: bench.ThroughputRun{Name: "floor: plain franz-go consumer", Elapsed: 160 * time.Millisecond, CPU: 160 * time.Millisecond, EventsPerS: 625_000, CPUPerMillion: 1.6},
		Runs:  []bench.ThroughputRun{{Name: "1 rule", Rules: 1, Elapsed: 330 * time.Millisecond, CPU: 420 * time.Millisecond, EventsPerS: 306_000, CPUPerMillion: 4.2}},
	}
	res := rep.Result()
	if m := res.Metric("archive baseline: zstd JSON lines CPU"); m != nil {
		t.Errorf("no archiving run, so no baseline measured, yet the report has %+v", *m)
	}
}

// With --repeat, every run's probes must be accounted for: a run that lost alerts
// may not be hidden behind the run of highest p99 (lost alerts are absent from a
// run's latencies, so they lower its p99). The gated "alerts delivered" ratio, or
// some figure of the report, must show the loss.
// TestLatencyRepeatReportsEveryRunsLostAlerts: with --repeat the figures are the
// slowest run's, and "alerts delivered" was that run's too: a run that lost half its
// alerts (fewer latencies, seldom the slowest) was hidden, the gated ratio 1 (found by
// a review helper). It counts every run's now.
func TestLatencyRepeatReportsEveryRunsLostAlerts(t *testing.T) {
	t.Parallel()
	rep := &bench.LatencyReport{Wall: 5 * time.Second, Rate: 1000, Duration: 5 * time.Second}
	rep.Probes, rep.Received, rep.Sent = 5000, 5000, 5000
	rep.P50, rep.P99, rep.Max = 2*time.Millisecond, 9*time.Millisecond, 20*time.Millisecond
	rep.Runs = []bench.LatencyRun{
		{P50: 2 * time.Millisecond, P99: 9 * time.Millisecond, Max: 20 * time.Millisecond, Probes: 5000},
		{P50: 2 * time.Millisecond, P99: 5 * time.Millisecond, Max: 8 * time.Millisecond, Probes: 5000, Missing: 2500},
	}
	res := rep.Result()
	if r := res.Ratio("alerts delivered"); r == nil || r.Value != 0.75 {
		t.Errorf("alerts delivered %+v, want 0.75 (7,500 of 10,000 over both runs)", r)
	}
	if m := res.Metric("probes missing, all runs"); m == nil || m.Value != 2500 {
		t.Errorf("probes missing, all runs: %+v, want 2500", m)
	}
}
