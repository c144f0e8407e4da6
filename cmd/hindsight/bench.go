package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/bench"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/live"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Hindsight end to end",
	}
	cmd.AddCommand(newBenchLatencyCmd(), newBenchBrokerCmd())
	return cmd
}

func newBenchLatencyCmd() *cobra.Command {
	var (
		cfg      bench.LatencyConfig
		logLevel string
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "latency",
		Short: "Ingest-to-alert latency through a broker in another process, at a fixed event rate",
		Long: `Send events at a fixed rate to a broker running in a separate process (this binary's
embedded broker, started as a child, unless --brokers is given), evaluate them with the
live daemon, and read the alerts back. Every event raises exactly one alert, so each
event's latency is measured: from handing it to the producer to receiving its alert.
Prints p50/p90/p99/p99.9/max latency, the events/s achieved and the CPU time used by this
process and by the broker. Target: p99 ≤ 20 ms at 20,000 events/s on 2 cores.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := envLogger(cmd, logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			if len(cfg.Kafka.Brokers) == 0 {
				exe, err := os.Executable()
				if err != nil {
					return fmt.Errorf("locating this binary to start the broker: %w", err)
				}
				cfg.BrokerCommand = []string{exe, "bench", "broker"}
			}
			if !quiet {
				cfg.Progress = cmd.ErrOrStderr()
			}
			cfg.EnsureDefaults()
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			rep, err := bench.RunLatency(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	f := cmd.Flags()
	var topics ingest.Topics // the benchmark uses the standard topic names
	addKafkaFlags(f, &cfg.Kafka, &topics, "")
	for _, n := range []string{"topic-events", "topic-controls", "topic-alerts", "topic-dlq", "topic-status"} {
		_ = f.MarkHidden(n)
	}
	f.IntVar(&cfg.Rate, "rate", 20000, "events per second")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured sending time")
	f.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured sending before")
	f.Int32Var(&cfg.Partitions, "partitions", 4, "events partitions of the started broker")
	f.IntVar(&cfg.Rules, "rules", 100, "other active rules besides the latency rule")
	f.BoolVar(&cfg.NoArchive, "no-archive", false, "turn off the daemon's own archiver (on by default, as in hindsight live)")
	f.IntVar(&cfg.ProbeEvery, "probe-every", 1, "time every Nth event (a probe with an alert of its own); the others are ordinary workload events")
	f.Uint64Var(&cfg.Seed, "seed", 1, "workload seed")
	f.DurationVar(&cfg.ProducerLinger, "producer-linger", 0, "event producer linger (0: send each event at once)")
	f.DurationVar(&cfg.AlertLinger, "alert-linger", 0, "the daemon's alert linger (as hindsight live --alert-linger)")
	f.IntVar(&cfg.GCPercent, "gogc", live.DefaultGCPercent, "GC target percentage of this process during the run, as hindsight live --gogc (negative: leave GOGC alone)")
	f.StringVar(&logLevel, "log-level", "warn", "daemon log level")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress lines")
	return cmd
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
	return cmd
}
