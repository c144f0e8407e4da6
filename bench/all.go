package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Benchmarks are the benchmarks RunAll runs, in order. Throughput, which reports
// peak resident memory, runs before archive and backfill: what they leave in the
// process (DuckDB's allocations above all, which Go cannot give back) made its floor's
// peak 320 MiB after backfill against 148 after eval alone.
var Benchmarks = []string{"eval", "throughput", "archive", "backfill", "latency"}

// AllConfig configures RunAll: a config per benchmark.
type AllConfig struct {
	Eval       EvalConfig
	Archive    ArchiveConfig
	Backfill   BackfillConfig
	Throughput ThroughputConfig
	Latency    LatencyConfig
	// Only names the benchmarks to run. Default: all of Benchmarks.
	Only []string
	// Short gives every size left unset the CI suite's value: each benchmark takes
	// seconds, not minutes (see ShortSizes).
	Short bool
	// Progress, if set, gets a line as each benchmark starts and ends.
	Progress io.Writer
}

// ShortSizes fills the sizes left unset with the CI suite's: eval 2.5 s per
// evaluator, archive 200k events (3 passes each), backfill 500k events and 2 rules,
// throughput 200k events, latency 5 s at 5,000 events/s after 1 s of warmup. The suite
// takes about a minute and a half on 2 cores.
func (c *AllConfig) ShortSizes() {
	setIf(&c.Eval.Duration, 2500*time.Millisecond)
	setIf(&c.Archive.Events, 200_000)
	setIf(&c.Backfill.Events, 500_000)
	setIf(&c.Backfill.Rules, 2)
	setIf(&c.Throughput.Events, 200_000)
	setIf(&c.Latency.Duration, 5*time.Second)
	setIf(&c.Latency.Warmup, time.Second)
	setIf(&c.Latency.Rate, 5000)
}

func setIf[T comparable](field *T, v T) {
	var zero T
	if *field == zero {
		*field = v
	}
}

// EnsureDefaults fills unset fields with their documented defaults.
func (c *AllConfig) EnsureDefaults() {
	if len(c.Only) == 0 {
		c.Only = slices.Clone(Benchmarks)
	}
	if c.Short {
		c.ShortSizes()
	}
	c.Eval.EnsureDefaults()
	c.Archive.EnsureDefaults()
	c.Backfill.EnsureDefaults()
	c.Throughput.EnsureDefaults()
	c.Latency.EnsureDefaults()
}

// Validate reports configuration mistakes.
func (c *AllConfig) Validate() error {
	configs := map[string]interface{ Validate() error }{"eval": &c.Eval, "archive": &c.Archive, "backfill": &c.Backfill,
		"throughput": &c.Throughput, "latency": &c.Latency}
	for _, name := range c.Only {
		v, ok := configs[name]
		if !ok {
			return fmt.Errorf("bench: no benchmark %q (have %s)", name, strings.Join(Benchmarks, ", "))
		}
		if err := v.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// RunAll runs the benchmarks of cfg.Only in the order of Benchmarks and returns their
// report. On an error it returns the report of those that finished, and the error.
func RunAll(ctx context.Context, cfg AllConfig) (*Report, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := BeginRun()
	rep := NewReport()
	defer start.End(rep)
	for _, name := range Benchmarks {
		if !slices.Contains(cfg.Only, name) {
			continue
		}
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "bench: running %s\n", name)
		}
		t0 := time.Now()
		res, err := runOne(ctx, name, cfg)
		if err != nil {
			return rep, fmt.Errorf("bench %s: %w", name, err)
		}
		rep.Results = append(rep.Results, res)
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "bench: %s done in %.1fs\n", name, time.Since(t0).Seconds())
		}
	}
	return rep, nil
}

func runOne(ctx context.Context, name string, cfg AllConfig) (Result, error) {
	var r interface{ Result() Result }
	var err error
	switch name {
	case "eval":
		r, err = RunEval(ctx, cfg.Eval)
	case "archive":
		r, err = RunArchive(ctx, cfg.Archive)
	case "backfill":
		r, err = RunBackfill(ctx, cfg.Backfill)
	case "throughput":
		r, err = RunThroughput(ctx, cfg.Throughput)
	case "latency":
		r, err = RunLatency(ctx, cfg.Latency)
	}
	if err != nil {
		return Result{}, err
	}
	return r.Result(), nil
}
