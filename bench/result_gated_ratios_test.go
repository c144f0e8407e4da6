package bench_test

import (
	"math"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/bench"
)

// Each benchmark's gated ratios, from hand-made runs whose figures are chosen so that
// a ratio turned upside down, taken over the wrong run or the wrong count, reads
// differently: the real runs (run_test.go) check little more than that a ratio is
// positive, and the throughput one runs only in make test. A ratio computed the
// wrong way round passes the gate as long as it stays so, and fails it (or passes a
// regression) once it is fixed.
func TestResultsComputeTheGatedRatiosFromTheirRuns(t *testing.T) {
	t.Parallel()
	ratio := func(t *testing.T, res bench.Result, name string, want float64, gated bool) {
		t.Helper()
		r := res.Ratio(name)
		switch {
		case r == nil:
			t.Errorf("%s: no ratio %q", res.Name, name)
		case math.Abs(r.Value-want) > 1e-9*want || r.Gated != gated:
			t.Errorf("%s: ratio %q = %v (gated %v), want %v (gated %v)", res.Name, name, r.Value, r.Gated, want, gated)
		}
	}

	t.Run("eval", func(t *testing.T) {
		rep := &bench.EvalReport{
			Index:       bench.EvalRun{Events: 1000, Elapsed: time.Second, EventsPerS: 1_000_000},
			Baseline:    bench.EvalRun{Events: 1000, Elapsed: time.Second, EventsPerS: 40_000},
			Tenth:       bench.EvalRun{Events: 1000, Elapsed: time.Second, EventsPerS: 2_000_000},
			Tenant:      bench.EvalRun{Events: 1000, Elapsed: time.Second, EventsPerS: 800_000},
			TenantTenth: bench.EvalRun{Events: 1000, Elapsed: time.Second, EventsPerS: 1_000_000},
		}
		rep.Config.Rules = 1000
		res := rep.Result()
		ratio(t, res, "throughput vs baseline", 25, true)
		ratio(t, res, "cost of 10× the rules", 2, false)
		ratio(t, res, "cost of 10× the rules, customers' own", 1.25, true)
	})

	t.Run("archive", func(t *testing.T) {
		rep := &bench.ArchiveReport{RawBytes: 6_000_000,
			Parquet:   bench.ArchiveRun{Elapsed: time.Second, CPU: time.Second, Stored: 1_000_000, Files: 4, EventsPerS: 300_000},
			JSONLines: bench.ArchiveRun{Elapsed: time.Second, CPU: time.Second, Stored: 1_250_000, Files: 4, EventsPerS: 400_000}}
		rep.Config.Events = 10_000
		res := rep.Result()
		ratio(t, res, "throughput vs baseline", 0.75, true)
		ratio(t, res, "smaller than raw JSON", 6, true)
		ratio(t, res, "smaller than baseline", 1.25, true)
	})

	t.Run("backfill", func(t *testing.T) {
		rep := &bench.BackfillReport{Jobs: []bench.BackfillJob{
			{Rule: "a", Backfill: 100 * time.Millisecond, Replay: 900 * time.Millisecond, BackfillCPU: 150 * time.Millisecond, ReplayCPU: 600 * time.Millisecond},
			{Rule: "b", Backfill: 300 * time.Millisecond, Replay: 700 * time.Millisecond, BackfillCPU: 50 * time.Millisecond, ReplayCPU: 400 * time.Millisecond},
		}}
		rep.Config.Events = 1000
		res := rep.Result()
		ratio(t, res, "faster than replay", 4, true)    // 1.6 s of replays over 0.4 s of jobs
		ratio(t, res, "less CPU than replay", 5, false) // 1 s over 0.2 s
	})

	t.Run("latency", func(t *testing.T) {
		rep := &bench.LatencyReport{Wall: 5 * time.Second, Rate: 1000, Duration: 5 * time.Second}
		rep.Probes, rep.Received, rep.Sent, rep.Achieved = 4000, 3000, 5000, 900
		rep.P50, rep.P99 = 3*time.Millisecond, 8*time.Millisecond
		rep.Baseline = &bench.LatencyFigures{Probes: 4000, Received: 4000, Sent: 5000, Achieved: 1000, P50: 2 * time.Millisecond, P99: 4 * time.Millisecond}
		res := rep.Result()
		ratio(t, res, "alerts delivered", 0.75, true)
		ratio(t, res, "p50 vs pass-through", 1.5, true)
		ratio(t, res, "p99 vs pass-through", 2, false)
		ratio(t, res, "load achieved vs pass-through", 0.9, false)
		if r := res.Ratio("p50 vs pass-through"); r == nil || r.Margin != bench.PhasedMargin {
			t.Errorf("p50 vs pass-through: %+v, want PhasedMargin", r)
		}
		if r := res.Ratio("alerts delivered"); r == nil || !r.Exact {
			t.Errorf("alerts delivered: %+v, want exact", r)
		}
	})

	t.Run("throughput", func(t *testing.T) {
		cfg := bench.ThroughputConfig{Events: 1_000_000, ManyRules: 100}
		cfg.EnsureDefaults()
		run := func(name string, rules, windowed int, archive bool, eps float64, cpu time.Duration) bench.ThroughputRun {
			return bench.ThroughputRun{Name: name, Rules: rules, Windowed: windowed, Archive: archive, Elapsed: time.Second, CPU: cpu,
				EventsPerS: eps, CPUPerMillion: cpu.Seconds()}
		}
		rep := &bench.ThroughputReport{Config: cfg, Cores: 2,
			// The floor: 0.5 µs of its own CPU and 0.5 µs of the broker's per event.
			Floor: bench.ThroughputRun{Name: "floor", Elapsed: time.Second, CPU: 500 * time.Millisecond, BrokerCPU: 500 * time.Millisecond, EventsPerS: 1_000_000, CPUPerMillion: 0.5},
			Runs: []bench.ThroughputRun{
				run("1 rule", 1, 0, false, 800_000, time.Second),
				run("10 rules", 10, 0, false, 700_000, 2*time.Second),
				run("100 rules", 100, 0, false, 500_000, 3*time.Second),
				run("1 rule, archive on", 1, 0, true, 400_000, 4*time.Second),
				run("100 rules (50 windowed), archive on", 100, 50, true, 200_000, 5*time.Second),
			},
			// 1 µs of zstd per event: the ceiling is 2 cores over 2 µs, 1,000,000 events/s.
			Zstd:      bench.ZstdSample{Events: 1000, Bytes: 500_000, CPU: time.Millisecond},
			JSONLines: bench.ArchiveRun{CPU: 2 * time.Second},
		}
		res := rep.Result()
		ratio(t, res, "1 rule vs floor", 0.8, true)
		ratio(t, res, "1 rule, archive on, vs floor", 0.4, false)
		ratio(t, res, "100 rules (half windowed), archive on, vs floor", 0.2, false)
		ratio(t, res, "1 rule, archive on, vs archive ceiling", 0.4, true)
		ratio(t, res, "100 rules (half windowed), archive on, vs archive ceiling", 0.2, true)
		ratio(t, res, "archive CPU per event vs zstd JSON lines", 1.5, false) // (4 s − 1 s) over 2 s
		ratio(t, res, "CPU of 10× the rules", 1.5, false)                     // 3 s over 2 s
		ratio(t, res, "archive ceiling of this machine vs floor", 1, false)
	})
}
