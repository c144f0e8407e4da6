package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hindsightdev/hindsight/bench"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Hindsight against baselines measured in the same run",
		Long: `Benchmarks of Hindsight's stages, each against a baseline measured in the same run,
with the ratio printed beside the absolute figures: eval (the live evaluator against
the one-path-per-rule design), archive (zstd Parquet against zstd JSON lines), backfill
(DuckDB over the lake against a Kafka replay) and latency (ingest→alert through a
broker against a pass-through relay). --out writes a JSON report and, next to it, an
SVG plot; --gate fails the run when a ratio regressed against a reference report.`,
	}
	cmd.AddCommand(newBenchLatencyCmd(), newBenchEvalCmd(), newBenchArchiveCmd(), newBenchBackfillCmd(), newBenchThroughputCmd(),
		newBenchAllCmd(), newBenchCompareCmd(), newBenchBrokerCmd())
	return cmd
}

// addWorkloadFlags binds the flags every benchmark shares.
func addWorkloadFlags(f *pflag.FlagSet, w *bench.Workload) {
	d := defaultsOf[bench.Workload]()
	f.Uint64Var(&w.Seed, "seed", d.Seed, "workload seed")
	f.IntVar(&w.Customers, "customers", d.Customers, fmt.Sprintf("distinct customers of the events and of customer rules (at most %d, whose ids the generator holds)", bench.MaxCustomers))
	f.IntVar(&w.EventSize, "event-size", 0, fmt.Sprintf("pad events to this many bytes (0: their natural 300–800; at most %d, and --events times it at most %d)", bench.MaxEventSize, int64(bench.MaxEventsBytes)))
}

// addPublishFlags binds where the report goes.
func addPublishFlags(f *pflag.FlagSet, p *bench.PublishConfig) {
	f.StringVar(&p.Out, "out", "", "write the JSON report here, and the plot next to it (.svg)")
	f.StringVar(&p.Reference, "gate", "", "reference report: fail when a gated ratio regressed beyond the margin")
	f.Float64Var(&p.Margin, "margin", bench.DefaultMargin, "gate margin for timed ratios, above 0 and below 1 (0.5: may fall to half the reference); a ratio with a margin of its own in the reference keeps it: compression 5%, latency p50 75% (two phases run one after the other), alerts delivered none")
}

// checkPublish refuses, before the run, a report and plot path (--out) that cannot be
// written, a --gate reference that cannot be read and a --margin the gate refuses:
// Publish meets them only after the run (and takes a margin of 0 for the default).
func checkPublish(pub bench.PublishConfig) error {
	if err := bench.CheckMargin(pub.Margin); err != nil {
		return usageError{fmt.Errorf("%w (--margin)", err)}
	}
	if pub.Out != "" {
		if err := checkWritable("--out", pub.Out, bench.PlotPath(pub.Out)); err != nil {
			return usageError{fmt.Errorf("bench: %w", err)}
		}
	}
	if pub.Reference != "" {
		if _, err := bench.ReadReport(pub.Reference); err != nil {
			return usageError{fmt.Errorf("bench: --gate %s: %w", pub.Reference, err)}
		}
	}
	return nil
}

// benchConfig is the configuration of one benchmark, as its subcommand completes it.
type benchConfig interface {
	EnsureDefaults()
	Validate() error
}

// benchRunCmd makes cmd the subcommand of one benchmark, which is the same for each:
// it binds the workload (w, part of cfg) and publish flags, and when run defaults and
// validates cfg (a mistake is exit status 2), runs the benchmark and publishes its
// result.
func benchRunCmd[R interface{ Result() bench.Result }](cmd *cobra.Command, cfg benchConfig, w *bench.Workload, run func(ctx context.Context) (R, error)) *cobra.Command {
	var (
		pub        bench.PublishConfig
		cpuProfile string
		execTrace  string
		memProfile string
	)
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg.EnsureDefaults()
		if err := cfg.Validate(); err != nil {
			return usageError{err}
		}
		if err := checkPublish(pub); err != nil {
			return err
		}
		var allocs io.Writer // written when the run ends, with what it allocated
		for _, rec := range []struct {
			path, what string
			start      func(io.Writer) error
			stop       func()
		}{
			{cpuProfile, "CPU profile", pprof.StartCPUProfile, pprof.StopCPUProfile},
			{execTrace, "execution trace", trace.Start, trace.Stop},
			{memProfile, "allocation profile", func(w io.Writer) error { allocs = w; return nil }, func() {}},
		} {
			if rec.path == "" {
				continue
			}
			f, err := os.Create(rec.path)
			if err != nil {
				return fmt.Errorf("bench: creating the %s: %w", rec.what, err)
			}
			defer f.Close()
			if err := rec.start(f); err != nil {
				return fmt.Errorf("bench: starting the %s: %w", rec.what, err)
			}
			defer rec.stop()
		}
		start := bench.BeginRun()
		r, err := run(cmd.Context())
		if err != nil {
			return err
		}
		if allocs != nil {
			if err := pprof.Lookup("allocs").WriteTo(allocs, 0); err != nil {
				return fmt.Errorf("bench: writing the allocation profile: %w", err)
			}
		}
		rep := bench.NewReport(r.Result())
		start.End(rep)
		pub.Table = cmd.OutOrStdout()
		pub.Benchmarks = []string{r.Result().Name} // the reference's other benchmarks did not run
		return bench.Publish(rep, pub)
	}
	f := cmd.Flags()
	addWorkloadFlags(f, w)
	addPublishFlags(f, &pub)
	f.StringVar(&cpuProfile, "cpuprofile", "", "write this process's CPU profile of the whole run to this file (go tool pprof)")
	f.StringVar(&memProfile, "memprofile", "", "write this process's allocation profile of the whole run to this file (go tool pprof -sample_index=alloc_space)")
	f.StringVar(&execTrace, "trace", "", "write this process's execution trace of the whole run to this file (go tool trace; -pprof=sched shows who waited for a core)")
	return cmd
}

func brokerCommand() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locating this binary to start the broker: %w", err)
	}
	return []string{exe, "bench", "broker"}, nil
}

// latencyFlags binds the latency benchmark's flags, bar the workload's.
func addLatencyFlags(f *pflag.FlagSet, cfg *bench.LatencyConfig) {
	var topics ingest.Topics // the benchmark uses the standard topic names
	addKafkaFlags(f, &cfg.Kafka, &topics, "", 0)
	for _, n := range []string{"topic-events", "topic-controls", "topic-alerts", "topic-dlq", "topic-status"} {
		_ = f.MarkHidden(n)
	}
	d := defaultsOf[bench.LatencyConfig]()
	f.DurationVar(&cfg.Warmup, "warmup", d.Warmup, "unmeasured sending before (negative: none)")
	f.Int32Var(&cfg.Partitions, "partitions", d.Partitions, fmt.Sprintf("events partitions of the started broker (at most %d)", ingest.MaxPartitions))
	f.Int64Var(&cfg.BrokerRetentionBytes, "broker-retention-bytes", bench.DefaultBrokerRetentionBytes, "most bytes (as stored) the started broker keeps per partition of the events and alerts topics, older batches deleted as by Kafka's retention.bytes (negative: keep all; its log is in memory)")
	f.BoolVar(&cfg.NoArchive, "no-archive", false, "turn off the daemon's own archiver (on by default, as in hindsight live)")
	f.IntVar(&cfg.ProbeEvery, "probe-every", d.ProbeEvery, "time every Nth event (a probe with an alert of its own); the others are ordinary workload events")
	f.IntVar(&cfg.WebhookEvery, "webhook-every", d.WebhookEvery, "make every Nth probe also a webhook probe, delivered to a loopback receiver by the notify stage and timed there (negative: none)")
	f.DurationVar(&cfg.ProducerLinger, "producer-linger", 0, fmt.Sprintf("event producer linger (0: send each event at once; at most %v, the Kafka client's most)", ingest.MaxProduceLinger))
	f.DurationVar(&cfg.AlertLinger, "alert-linger", 0, fmt.Sprintf("the daemon's alert linger (as hindsight live --alert-linger; at most %v)", ingest.MaxProduceLinger))
	f.IntVar(&cfg.GCPercent, "gogc", 0, fmt.Sprintf("GC target percentage of this process during the run, as hindsight live --gogc (0: the daemon's own against external brokers, %d with the archive, %d with --no-archive; negative: leave GOGC alone)", live.ArchiveGCPercent, live.DefaultGCPercent))
	f.BoolVar(&cfg.NoBaseline, "no-baseline", false, "skip the pass-through baseline")
	f.BoolVar(&cfg.NoBreakdown, "no-breakdown", false, "skip the daemon's second pass with its archiver off, which shows what the archive adds")
}

// prepareLatency completes a latency config from the command line and the
// environment, and checks it; given --brokers, one must answer. The checks come first,
// as every command checks its input before a broker: a bad --event-size with brokers
// that do not answer was "no broker answered", exit 1, and HINDSIGHT_BROKERS was
// applied only after the ping (none made) and the choice of a broker child.
// check, when set, checks the completed config (bench all checks its own later, as a
// whole).
func prepareLatency(cmd *cobra.Command, cfg *bench.LatencyConfig, logLevel string, quiet, check bool) error {
	if err := prepareBrokerBench(cmd, logLevel, quiet, func() bool { return len(cfg.Kafka.Brokers) == 0 }, &cfg.Logger, &cfg.BrokerCommand, &cfg.Progress); err != nil {
		return err
	}
	if check {
		c := *cfg
		c.EnsureDefaults()
		if err := c.Validate(); err != nil {
			return usageError{err}
		}
	}
	if len(cfg.Kafka.Brokers) > 0 {
		if err := pingBrokers(cmd.Context(), cfg.Kafka, "leave --brokers out for a broker of the benchmark's own"); err != nil {
			return err
		}
	}
	return nil
}

// prepareBrokerBench completes what the benchmarks that run a broker child take from
// the command line and the environment: their logger, the child's command (when child
// says so, once the environment is applied) and where progress goes (unless quiet).
func prepareBrokerBench(cmd *cobra.Command, logLevel string, quiet bool, child func() bool, logger **slog.Logger, brokerCmd *[]string, progress *io.Writer) error {
	l, err := envLogger(cmd, logLevel)
	if err != nil {
		return err
	}
	*logger = l
	if child() {
		if *brokerCmd, err = brokerCommand(); err != nil {
			return err
		}
	}
	if !quiet {
		*progress = cmd.ErrOrStderr()
	}
	return nil
}

func newBenchLatencyCmd() *cobra.Command {
	var (
		cfg      bench.LatencyConfig
		logLevel string
		quiet    bool
	)
	cmd := benchRunCmd(&cobra.Command{
		Use:   "latency",
		Short: "Ingest-to-alert latency through a broker in another process, at a fixed event rate",
		Long: `Send events at a fixed rate to a broker running in a separate process (this binary's
embedded broker, started as a child, unless --brokers is given), evaluate them with the
live daemon, and read the alerts back. Every probe event raises exactly one alert, so
its latency is measured: from handing it to the producer to receiving its alert. The
baseline, run last, is a pass-through relay at the same rate (against a fresh broker
child, unless --brokers): a consumer re-producing each event, unevaluated, to the
alerts topic. Prints
p50/p90/p99/p99.9/max latency of both, the events/s achieved and the CPU time used.
Target: p99 ≤ 20 ms at 20,000 events/s on 2 cores.`,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return prepareLatency(cmd, &cfg, logLevel, quiet, true) },
	}, &cfg, &cfg.Workload, func(ctx context.Context) (*bench.LatencyReport, error) { return bench.RunLatency(ctx, cfg) })
	f := cmd.Flags()
	addLatencyFlags(f, &cfg)
	d := defaultsOf[bench.LatencyConfig]()
	f.IntVar(&cfg.Rate, "rate", d.Rate, fmt.Sprintf("events per second (at most %d)", bench.MaxLatencyRate))
	f.DurationVar(&cfg.Duration, "duration", d.Duration, "measured sending time")
	f.IntVar(&cfg.Rules, "rules", d.Rules, fmt.Sprintf("other active rules besides the latency rule (negative: none; at most %d: with the latency and webhook rules, the daemon's default --max-rules)", bench.MaxLatencyRules))
	f.IntVar(&cfg.Repeat, "repeat", d.Repeat, "runs of the Hindsight pass, each against a fresh broker (the figures are the slowest run's, the p99 of each is listed; at most 20); the breakdown and the baseline run once")
	addLogFlags(f, &logLevel, "warn")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress lines")
	return cmd
}

func newBenchEvalCmd() *cobra.Command {
	var cfg bench.EvalConfig
	cmd := benchRunCmd(&cobra.Command{
		Use:   "eval",
		Short: "Live evaluator throughput against the one-path-per-rule design",
		Long: `Evaluate the same events against the same rules with the live evaluator (parse with
Hindsight's JSONPath document, match with the rule index) and with the baseline (parse
once with ojg, then evaluate each rule's JSONPath in turn), each on one goroutine for
--duration, after checking that both decide alike on every event. Also runs the index
with a tenth of the rules, for how cost grows with rules. Then the same rules with
--windowed-percent of them windowed and grouped, against the same rules as plain counts
in the same time slices (both through window.Replay, the evaluator rules test and the
console use), the state's bytes per (group, window), and one rule offered
--high-card-groups distinct groups under --group-limit, which must hold. Targets: ≥ 1M
events/s per core at 1,000 rules; ≥ 20× the baseline; windowed ≤ 1.5× plain; ≤ 64 bytes
per (group, window).`,
	}, &cfg, &cfg.Workload, func(ctx context.Context) (*bench.EvalReport, error) { return bench.RunEval(ctx, cfg) })
	f := cmd.Flags()
	d := defaultsOf[bench.EvalConfig]()
	f.IntVar(&cfg.Rules, "rules", d.Rules, fmt.Sprintf("active rules (at least 10; at most %d, the daemon's default --max-rules)", bench.MaxRules))
	f.IntVar(&cfg.Events, "events", d.Events, fmt.Sprintf("distinct events evaluated round and round (at most %d)", bench.MaxEvents))
	f.DurationVar(&cfg.Duration, "duration", d.Duration, "time each evaluator runs")
	f.IntVar(&cfg.WindowedPercent, "windowed-percent", d.WindowedPercent, "share of the rules made windowed and grouped for the windowed run (negative: none)")
	f.IntVar(&cfg.HighCardGroups, "high-card-groups", d.HighCardGroups, "distinct groups offered to one rule in the high-cardinality run (negative: none)")
	f.IntVar(&cfg.GroupLimit, "group-limit", d.GroupLimit, "most open groups per rule and partition in the high-cardinality run")
	return cmd
}

func newBenchArchiveCmd() *cobra.Command {
	var cfg bench.ArchiveConfig
	cmd := benchRunCmd(&cobra.Command{
		Use:   "archive",
		Short: "Archiver throughput and size against zstd JSON lines",
		Long: `Load events into an in-process broker, then archive them all with the lakehouse
archiver (zstd Parquet and a manifest, in an in-memory bucket) and, as the baseline,
read the same records and write them as zstd JSON lines. Targets: ≥ 500k events/s;
≥ 5× smaller than the raw JSON.`,
	}, &cfg, &cfg.Workload, func(ctx context.Context) (*bench.ArchiveReport, error) { return bench.RunArchive(ctx, cfg) })
	f := cmd.Flags()
	d := defaultsOf[bench.ArchiveConfig]()
	f.IntVar(&cfg.Events, "events", d.Events, fmt.Sprintf("events archived (at most %d)", bench.MaxEvents))
	f.IntVar(&cfg.Repeat, "repeat", d.Repeat, "passes of the archiver and of the baseline, alternately; the fastest counts")
	f.Int32Var(&cfg.Partitions, "partitions", d.Partitions, fmt.Sprintf("events partitions (at most %d)", ingest.MaxPartitions))
	return cmd
}

func newBenchThroughputCmd() *cobra.Command {
	var (
		cfg      bench.ThroughputConfig
		logLevel string
		quiet    bool
	)
	cmd := benchRunCmd(&cobra.Command{
		Use:   "throughput",
		Short: "The live daemon's events/s, CPU and memory over preloaded events, against a plain consumer",
		Long: `Preload events into a broker running in a separate process (this binary's embedded
broker, started as a child), then read them all: first with a plain franz-go consumer
that only reads the records, read committed as the daemon reads them (the floor of any
Kafka consumer here), then with the live
daemon, each run from its own consumer group with its rules already published — 1 rule,
a tenth of --many-rules and --many-rules running totals with the archive off; 1 rule
with the archive on; --many-rules rules, half of them windowed with group_by, with the
archive on. Prints events/s, CPU-seconds per million events and peak RSS of each, and
their ratios to the floor. Targets: 1 rule ≥ 80% of the floor, with the archive ≥ 60%
(and ≤ 600 MiB peak RSS for 1M events, archive CPU per event ≤ the zstd JSON lines
baseline's), --many-rules half windowed with the archive ≥ 40%.`,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return prepareBrokerBench(cmd, logLevel, quiet, func() bool { return true }, &cfg.Logger, &cfg.BrokerCommand, &cfg.Progress)
		},
	}, &cfg, &cfg.Workload, func(ctx context.Context) (*bench.ThroughputReport, error) { return bench.RunThroughput(ctx, cfg) })
	f := cmd.Flags()
	d := defaultsOf[bench.ThroughputConfig]()
	f.IntVar(&cfg.Events, "events", d.Events, fmt.Sprintf("events preloaded and read by every run (at most %d)", bench.MaxEvents))
	f.Int32Var(&cfg.Partitions, "partitions", d.Partitions, fmt.Sprintf("events partitions (at most %d)", ingest.MaxPartitions))
	f.IntVar(&cfg.ManyRules, "many-rules", d.ManyRules, fmt.Sprintf("rules of the largest runs (the middle run has a tenth; at least 10, at most %d)", bench.MaxRules))
	f.StringSliceVar(&cfg.Runs, "runs", d.Runs, "the runs to make, in order (floor may repeat)")
	f.IntVar(&cfg.Repeat, "repeat", d.Repeat, "rounds of --runs, one after the other; each run's fastest pass counts, as the floor's fastest of two always does")
	addMemoryLimitFlag(f, &cfg.MemoryLimit)
	f.IntVar(&cfg.GCPercent, "gogc", 0, fmt.Sprintf("GC target percentage of this process during the daemon's runs, as hindsight live --gogc (0: the daemon's own against external brokers, %d, or %d with the archive; the floor runs at Go's own; negative: leave GOGC alone)", live.DefaultGCPercent, live.ArchiveGCPercent))
	f.Int32Var(&cfg.FetchMaxBytes, "fetch-max-bytes", ingest.DefaultFetchMaxBytes, "the daemons' --fetch-max-bytes")
	f.IntVar(&cfg.MaxQueuedRecords, "max-queued-records", ingest.DefaultMaxQueuedRecords, "the daemons' --max-queued-records")
	f.IntVar(&cfg.ArchiveFeedRecords, "archive-feed-records", lakehouse.DefaultFeedRecords, "the archiving daemons' --archive-feed-records")
	f.StringVar(&cfg.ArchiveCompression, "archive-compression", lakehouse.CompressionZstd, "the archiving daemons' --archive-compression (the archive ceiling and its zstd baseline stay zstd's)")
	f.DurationVar(&cfg.ArchiveFeedWait, "archive-feed-wait", live.DefaultArchiveFeedWait, "the archiving daemons' --archive-feed-wait (negative: never wait)")
	f.BoolVar(&quiet, "quiet", false, "no line per run on stderr")
	addLogFlags(f, &logLevel, "warn")
	return cmd
}

func newBenchBackfillCmd() *cobra.Command {
	var cfg bench.BackfillConfig
	cmd := benchRunCmd(&cobra.Command{
		Use:   "backfill",
		Short: "Global-rule backfill against a Kafka replay through the live evaluator",
		Long: `Load events into an in-process broker and archive them; then, per global rule,
time a backfill over the whole history (DuckDB over the lake) against replaying the
same events from Kafka through the live evaluator's matching. Both must count the same.
Target: ≥ 5× faster than the replay.`,
	}, &cfg, &cfg.Workload, func(ctx context.Context) (*bench.BackfillReport, error) { return bench.RunBackfill(ctx, cfg) })
	f := cmd.Flags()
	d := defaultsOf[bench.BackfillConfig]()
	f.IntVar(&cfg.Events, "events", d.Events, fmt.Sprintf("events of history (at most %d)", bench.MaxEvents))
	f.IntVar(&cfg.Rules, "rules", d.Rules, fmt.Sprintf("global rules backfilled, one job each (at most %d)", bench.MaxRules))
	f.IntVar(&cfg.Repeat, "repeat", d.Repeat, "runs of each job and of its replay, alternately; the fastest counts")
	f.Int32Var(&cfg.Partitions, "partitions", d.Partitions, fmt.Sprintf("events partitions (at most %d)", ingest.MaxPartitions))
	return cmd
}

func newBenchAllCmd() *cobra.Command {
	var (
		cfg      bench.AllConfig
		pub      bench.PublishConfig
		w        bench.Workload
		rate     int
		duration time.Duration
		rules    int
		events   int
		logLevel string
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "all",
		Short: "Run every benchmark (eval, throughput, archive, backfill, latency) into one report",
		Long: `Run eval, throughput, archive, backfill and latency in turn and print one table. --short uses the
CI suite's sizes for whatever is not set (seconds per benchmark); make bench-ci runs
it with --gate against bench/testdata/ci-reference.json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkPublish(pub); err != nil {
				return err
			}
			f := cmd.Flags()
			cfg.Eval.Workload, cfg.Archive.Workload, cfg.Backfill.Workload, cfg.Throughput.Workload, cfg.Latency.Workload = w, w, w, w, w
			if f.Changed("rate") {
				cfg.Latency.Rate = rate
			}
			if f.Changed("duration") {
				cfg.Latency.Duration, cfg.Eval.Duration = duration, duration
			}
			if f.Changed("rules") {
				cfg.Latency.Rules, cfg.Eval.Rules = rules, rules
			}
			if !f.Changed("warmup") {
				cfg.Latency.Warmup = 0 // EnsureDefaults, or --short, decides
			}
			if f.Changed("events") {
				cfg.Archive.Events, cfg.Backfill.Events = events, events
			}
			// Bound to latency's config by addLatencyFlags; every suite with a broker of
			// its own takes it too, or it ran with its default, the flag ignored.
			cfg.Archive.Partitions, cfg.Backfill.Partitions, cfg.Throughput.Partitions = cfg.Latency.Partitions, cfg.Latency.Partitions, cfg.Latency.Partitions
			if err := prepareLatency(cmd, &cfg.Latency, logLevel, true, false); err != nil {
				return err
			}
			cfg.Throughput.Logger, cfg.Throughput.BrokerCommand = cfg.Latency.Logger, cfg.Latency.BrokerCommand
			if cfg.Throughput.BrokerCommand == nil { // --brokers given for latency: throughput starts its own
				var err error
				if cfg.Throughput.BrokerCommand, err = brokerCommand(); err != nil {
					return err
				}
			}
			if !quiet {
				cfg.Progress = cmd.ErrOrStderr()
			}
			cfg.EnsureDefaults()
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			rep, err := bench.RunAll(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			pub.Table = cmd.OutOrStdout()
			pub.Benchmarks = cfg.Only // all of them without --only, so that one missing fails the gate
			return bench.Publish(rep, pub)
		},
	}
	f := cmd.Flags()
	addWorkloadFlags(f, &w)
	addPublishFlags(f, &pub)
	addLatencyFlags(f, &cfg.Latency)
	// Unset, each suite keeps its own default (throughput's differs from the others').
	cfg.Latency.Partitions = 0
	p := f.Lookup("partitions")
	p.DefValue = "0"
	p.Usage = fmt.Sprintf("throughput, archive, backfill and latency: events partitions of the broker each starts (0: each suite's own, 6 for throughput, 4 for the others; at most %d)", ingest.MaxPartitions)
	f.IntVar(&rate, "rate", defaultsOf[bench.LatencyConfig]().Rate, fmt.Sprintf("latency: events per second (at most %d)", bench.MaxLatencyRate))
	f.DurationVar(&duration, "duration", 0, "latency: measured sending time; eval: time per evaluator (0: each suite's own, 10s and 3s; less with --short)")
	f.IntVar(&rules, "rules", 0, fmt.Sprintf("eval: active rules; latency: other active rules (0: each suite's own, 1000 and 100; at most %d and %d)", bench.MaxRules, bench.MaxLatencyRules))
	f.IntVar(&cfg.Backfill.Rules, "backfill-rules", 0, fmt.Sprintf("backfill: global rules, one job each (0: the suite's own, 3; at most %d)", bench.MaxRules))
	f.IntVar(&events, "events", 0, fmt.Sprintf("archive and backfill: events (0: each suite's own, 500,000 and 1,000,000; at most %d)", bench.MaxEvents))
	f.StringSliceVar(&cfg.Only, "only", nil, "run only these benchmarks (eval, throughput, archive, backfill, latency)")
	f.BoolVar(&cfg.Short, "short", false, "the CI suite's sizes for whatever is not set: seconds per benchmark")
	addLogFlags(f, &logLevel, "warn")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress lines")
	return cmd
}

func newBenchCompareCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "compare OLD.json NEW.json",
		Short: "Print what changed between two bench reports",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			old, err := bench.ReadReport(args[0])
			if err != nil {
				return err
			}
			cur, err := bench.ReadReport(args[1])
			if err != nil {
				return err
			}
			return bench.Compare(cmd.OutOrStdout(), old, cur)
		},
	}
}

// newBenchBrokerCmd is the broker child process of `bench latency`.
func newBenchBrokerCmd() *cobra.Command {
	var cfg ingest.EmbeddedConfig
	cmd := &cobra.Command{
		Use:    "broker",
		Short:  "Run the embedded broker for a benchmark (until stdin closes)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.ServeBroker(cmd.Context(), cfg, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&cfg.Addr, "addr", "127.0.0.1:0", "listen address")
	cmd.Flags().Int32Var(&cfg.Partitions, "partitions", 4, "events partitions")
	cmd.Flags().Int64Var(&cfg.RetentionBytes, "retention-bytes", 0, "most bytes (as stored) kept per partition of the events and alerts topics (0: all)")
	return cmd
}
