package bench_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/bench"
	"github.com/hindsightdev/hindsight/internal/testlog"
)

// Short real runs of each benchmark at tiny sizes: real figures come out, the
// baselines agree with what they are compared with, and the results feed the report.

func TestEvalRun(t *testing.T) {
	// Not parallel: the eval run measures the heap (runtime.ReadMemStats).
	// The windowed parts have a test of their own (TestEvalWindowed); a small
	// high-cardinality run keeps this one quick.
	dur := shortDuration(300 * time.Millisecond)
	rep, err := bench.RunEval(context.Background(), bench.EvalConfig{Rules: 200, Events: 512, Duration: dur,
		HighCardGroups: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Agreed != 512 || rep.AgreedMatches == 0 {
		t.Fatalf("evaluators checked on %d events, %d matches: want all 512 and some matches", rep.Agreed, rep.AgreedMatches)
	}
	for name, r := range map[string]bench.EvalRun{"index": rep.Index, "baseline": rep.Baseline, "tenth": rep.Tenth,
		"tenant": rep.Tenant, "tenant tenth": rep.TenantTenth} {
		if r.Events == 0 || r.Elapsed < dur || r.EventsPerS <= 0 || len(r.PerInterval) == 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	// Both walked the same event ring from its start: over the events both evaluated,
	// matches per event agree with the checked pass.
	perEvent := float64(rep.AgreedMatches) / 512
	for name, r := range map[string]bench.EvalRun{"index": rep.Index, "baseline": rep.Baseline} {
		if r.Events >= 512 {
			if got := float64(r.Matches) / float64(r.Events); got < perEvent*0.8 || got > perEvent*1.2 {
				t.Errorf("%s: %.2f matches per event, the checked pass %.2f", name, got, perEvent)
			}
		}
	}
	res := rep.Result()
	if r := res.Ratio("throughput vs baseline"); r == nil || r.Value != rep.Index.EventsPerS/rep.Baseline.EventsPerS || r.Value <= 1 {
		t.Errorf("ratio %+v (index %.0f, baseline %.0f events/s)", r, rep.Index.EventsPerS, rep.Baseline.EventsPerS)
	}
	if r := res.Ratio("cost of 10× the rules, customers' own"); r == nil || r.Value != rep.TenantTenth.EventsPerS/rep.Tenant.EventsPerS {
		t.Errorf("ratio %+v (%.0f and %.0f events/s)", r, rep.TenantTenth.EventsPerS, rep.Tenant.EventsPerS)
	}
	if rep.Tenant.Matches == 0 || rep.TenantTenth.Matches == 0 {
		t.Errorf("customers' rules matched %d and %d times: the figure measures no matching", rep.Tenant.Matches, rep.TenantTenth.Matches)
	}
	if err := (&bench.EvalConfig{Rules: 5}).Validate(); err == nil {
		t.Error("5 rules validated")
	}
}

// shortDuration is an eval run's Duration (time per timed evaluator) for these tests:
// 50ms under -short, else full, which make test runs. Eval times five to seven
// evaluators one after the other, each busy a core for the whole Duration: at 200ms
// and 300ms these runs were most of the package's CPU. What the tests check of them
// (events evaluated, matches agreeing, ratios made of the figures, a throughput
// ratio above 1) holds at 50ms, where the index still ran about 25 times the
// baseline's rate on the 2-core machine.
func shortDuration(full time.Duration) time.Duration {
	if testing.Short() {
		return 50 * time.Millisecond
	}
	return full
}

// shortRepeat is a benchmark's Repeat for these tests: one pass under -short, where
// the passes beyond the first only time the same work again (each is checked as the
// first is); else 0, the default (3), which make test runs.
func shortRepeat() int {
	if testing.Short() {
		return 1
	}
	return 0
}

// archive20k is the archive benchmark of 20,000 events: under -short one run of one
// pass, shared by TestArchiveRun and TestArchiveSeriesAccountForEveryEvent, which only
// read its report (a run took 0.7 s of CPU, each test made its own); make test gives
// each test a run of its own, TestArchiveRun's of the default 3 passes. The shared
// run logs to the test that makes it, which it finishes within.
func archive20k(t *testing.T, repeat int) *bench.ArchiveReport {
	t.Helper()
	run := func(t *testing.T) (*bench.ArchiveReport, error) {
		return bench.RunArchive(context.Background(), bench.ArchiveConfig{Events: 20_000, Repeat: repeat, Logger: testlog.New(t)})
	}
	var rep *bench.ArchiveReport
	var err error
	if testing.Short() {
		sharedArchive.once.Do(func() { sharedArchive.rep, sharedArchive.err = run(t) })
		rep, err = sharedArchive.rep, sharedArchive.err
	} else {
		rep, err = run(t)
	}
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

var sharedArchive struct {
	once sync.Once
	rep  *bench.ArchiveReport
	err  error
}

func TestArchiveRun(t *testing.T) {
	t.Parallel()
	rep := archive20k(t, shortRepeat())
	pq, jl := rep.Parquet, rep.JSONLines
	if rep.RawBytes < 20_000*300 || pq.Stored <= 0 || jl.Stored <= 0 || pq.Files == 0 || jl.Files != 4 || pq.EventsPerS <= 0 || jl.EventsPerS <= 0 {
		t.Fatalf("raw %d, parquet %+v, json lines %+v", rep.RawBytes, pq, jl)
	}
	res := rep.Result()
	if r := res.Ratio("smaller than raw JSON"); r == nil || r.Value < 3 {
		t.Errorf("compression ratio %+v: zstd Parquet of audit JSON should be several times smaller", r)
	}
	if r := res.Ratio("throughput vs baseline"); r == nil || r.Value <= 0 {
		t.Errorf("throughput ratio %+v", r)
	}
}

func TestBackfillRun(t *testing.T) {
	t.Parallel()
	// 10,000 events under -short, half the test's CPU: archiving them and replaying
	// them from the broker was most of the 30,000's; the run still writes a lake file
	// per partition (4) and both rules count events (154 and 3 seen), which backfill
	// and replay must agree on. make test keeps 30,000.
	events := 30_000
	if testing.Short() {
		events = 10_000
	}
	rep, err := bench.RunBackfill(context.Background(), bench.BackfillConfig{Events: events, Rules: 2, Repeat: shortRepeat(), Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err) // includes backfill and replay counting differently
	}
	if len(rep.Jobs) != 2 {
		t.Fatalf("%d jobs, want 2", len(rep.Jobs))
	}
	var counted int64
	for _, j := range rep.Jobs {
		if j.Backfill <= 0 || j.Replay <= 0 || j.Files == 0 {
			t.Errorf("job %+v", j)
		}
		counted += j.Count
	}
	if counted == 0 {
		t.Error("the rules counted nothing: backfill and replay agreeing on zero shows little")
	}
	if r := rep.Result().Ratio("faster than replay"); r == nil || r.Value <= 0 {
		t.Errorf("ratio %+v", r)
	}
}

// TestThroughputRun: every run reads every preloaded event (an archiving run's lake
// holds them all, checked inside), with figures and ratios to the floor.
func TestThroughputRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow: six daemon runs over preloaded events; runs in make test")
	}
	rep, err := bench.RunThroughput(context.Background(), bench.ThroughputConfig{Events: 20_000, ManyRules: 20, Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Floor.EventsPerS <= 0 || rep.Floor.CPU <= 0 || len(rep.Runs) != 5 {
		t.Fatalf("floor %+v, %d runs", rep.Floor, len(rep.Runs))
	}
	names := []string{"1 rule", "2 rules", "20 rules", "1 rule, archive on", "20 rules (10 windowed, group_by), archive on"}
	for i, r := range rep.Runs {
		if r.Name != names[i] || r.EventsPerS <= 0 || r.CPU <= 0 || r.CPUPerMillion <= 0 || len(r.PerInterval) == 0 {
			t.Errorf("run %d: %+v, want %q with figures", i, r, names[i])
		}
		if r.PeakRSS <= 0 {
			t.Errorf("run %q: no peak RSS", r.Name)
		}
	}
	for _, r := range append([]bench.ThroughputRun{rep.Floor}, rep.Runs...) {
		if r.FirstEvent <= 0 || r.FirstEvent >= r.Elapsed {
			t.Errorf("run %q: first event after %v of %v", r.Name, r.FirstEvent, r.Elapsed)
		}
	}
	res := rep.Result()
	for _, r := range rep.Runs {
		m := res.Metric(r.Name + ": read again by the archiver")
		switch {
		case !r.Archive && m != nil:
			t.Errorf("run %q without the archive reports re-reads: %+v", r.Name, m)
		case r.Archive && (m == nil || m.Value != float64(r.ReRead) || r.ReRead < 0 || r.ReRead > 20_000):
			t.Errorf("run %q: re-read metric %+v, %d re-read of 20,000 events", r.Name, m, r.ReRead)
		}
	}
	for _, name := range []string{"1 rule vs floor", "1 rule, archive on, vs floor", "20 rules (half windowed), archive on, vs floor",
		"archive CPU per event vs zstd JSON lines", "CPU of 10× the rules"} {
		if r := res.Ratio(name); r == nil || r.Value <= 0 {
			t.Errorf("ratio %q: %+v", name, r)
		}
	}
	if r := res.Ratio("1 rule vs floor"); r != nil && r.Value != rep.Runs[0].EventsPerS/rep.Floor.EventsPerS {
		t.Errorf("1 rule vs floor = %v, want %v", r.Value, rep.Runs[0].EventsPerS/rep.Floor.EventsPerS)
	}
	// The archive's ceiling: the machine's cores over the floor's CPU per event (the
	// broker's in it, in process here) and zstd's over the sampled JSON.
	if rep.Zstd.Events < 50_000 || rep.Zstd.Bytes < 32<<20 || rep.Zstd.CPU <= 0 || rep.Cores != runtime.NumCPU() {
		t.Errorf("zstd sample %+v on %d cores", rep.Zstd, rep.Cores)
	}
	perEvent := rep.Floor.CPU.Seconds()/20_000 + rep.Zstd.CPU.Seconds()/float64(rep.Zstd.Events)
	if r, want := res.Ratio("archive ceiling of this machine vs floor"), float64(rep.Cores)/perEvent/rep.Floor.EventsPerS; r == nil || math.Abs(r.Value-want) > 1e-9*want {
		t.Errorf("archive ceiling vs floor: %+v, want %v", r, want)
	}
	// The gate holds the archiving runs to the ceiling, not to the floor.
	ceiling := float64(rep.Cores) / perEvent
	for _, c := range []struct {
		name  string
		run   int
		gated bool
	}{
		{"1 rule, archive on, vs floor", 3, false},
		{"1 rule, archive on, vs archive ceiling", 3, true},
		{"20 rules (half windowed), archive on, vs archive ceiling", 4, true},
	} {
		r := res.Ratio(c.name)
		want := rep.Runs[c.run].EventsPerS / ceiling
		if !c.gated {
			want = rep.Runs[c.run].EventsPerS / rep.Floor.EventsPerS
		}
		if r == nil || r.Gated != c.gated || math.Abs(r.Value-want) > 1e-9*want {
			t.Errorf("ratio %q: %+v, want %v, gated %v", c.name, r, want, c.gated)
		}
	}
	// A subset of runs, the broker a child process, in two rounds: the ratios of runs
	// not made are left out, each run's figures are its fastest pass's, and the broker's
	// CPU is measured apart. It counts clock ticks (10 ms): serving the floor 5,000
	// events once read 0, so the runs read more, and the two runs' broker CPU together
	// must be some.
	only, err := bench.RunThroughput(context.Background(), bench.ThroughputConfig{Events: 50_000, ManyRules: 10, Runs: []string{"floor", "1"},
		Repeat: 2, BrokerCommand: childCommand(t)})
	if err != nil {
		t.Fatal(err)
	}
	onlyRes := only.Result()
	if got := onlyRes.Ratios; len(got) != 1 || got[0].Name != "1 rule vs floor" {
		t.Errorf("ratios of floor and 1 alone: %+v", got)
	}
	for _, c := range []struct {
		run    bench.ThroughputRun
		passes int
	}{{only.Floor, 4}, {only.Runs[0], 2}} {
		if len(c.run.Passes) != c.passes || c.run.EventsPerS != slices.Max(c.run.Passes) {
			t.Errorf("%s: %v events/s of passes %v, want the fastest of %d", c.run.Name, c.run.EventsPerS, c.run.Passes, c.passes)
			continue
		}
		name := fmt.Sprintf("%s: slowest of %d passes", c.run.Name, c.passes)
		if m := onlyRes.Metric(name); m == nil || m.Value != slices.Min(c.run.Passes) {
			t.Errorf("metric %q: %+v, want %v", name, m, slices.Min(c.run.Passes))
		}
	}
	if onlyRes.Params["repeat"] != "2" {
		t.Errorf("params %v: want repeat 2", onlyRes.Params)
	}
	if only.Floor.BrokerCPU < 0 || only.Runs[0].BrokerCPU < 0 || only.Floor.BrokerCPU+only.Runs[0].BrokerCPU <= 0 || only.Zstd.Events != 0 {
		t.Errorf("with a broker child: floor's broker CPU %v, 1 rule's %v, zstd sample %+v (none without an archive run)",
			only.Floor.BrokerCPU, only.Runs[0].BrokerCPU, only.Zstd)
	}
	if err := (&bench.ThroughputConfig{ManyRules: 100, Runs: []string{"floor", "2"}}).Validate(); err == nil {
		t.Error("an unknown run validated")
	}
	if err := (&bench.ThroughputConfig{ManyRules: 100, Runs: []string{"floor"}, Repeat: 21}).Validate(); err == nil {
		t.Error("21 rounds validated")
	}
}

// RunAll runs what Only names, in order, into one report that the gate accepts
// against itself and the plot draws.
func TestRunAll(t *testing.T) {
	// Not parallel: the eval run measures the heap (runtime.ReadMemStats).
	rep, err := bench.RunAll(context.Background(), bench.AllConfig{
		Only:    []string{"archive", "eval"},
		Eval:    bench.EvalConfig{Rules: 100, Events: 256, Duration: shortDuration(200 * time.Millisecond), HighCardGroups: 10_000},
		Archive: bench.ArchiveConfig{Events: 10_000},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 || rep.Results[0].Name != "eval" || rep.Results[1].Name != "archive" {
		t.Fatalf("results %+v", rep.Results)
	}
	if rep.Machine.GOMAXPROCS == 0 || rep.Machine.CPUModel == "" || rep.Machine.GoVersion == "" || rep.Timestamp.IsZero() {
		t.Errorf("machine %+v at %v", rep.Machine, rep.Timestamp)
	}
	if regs, err := bench.Gate(rep, rep, bench.DefaultMargin); err != nil || len(regs) != 0 {
		t.Errorf("gate against itself: %v %v", regs, err)
	}
	if _, err := bench.RunAll(context.Background(), bench.AllConfig{Only: []string{"nope"}}); err == nil {
		t.Error("an unknown benchmark ran")
	}
}
