package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/live/demo"
)

func newDemoCmd() *cobra.Command {
	var (
		cfg  demo.Config
		gogc int
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the live daemon on an embedded broker with synthetic events and sample rules",
		Long: `Start the live daemon on an embedded broker, publish sample global and customer-specific
rules (testdata/rules/sample.yaml, built in), send synthetic SaaS audit events at --rate,
and show a refreshing view of the top counts and the latest alerts. Half-way through, a
new version of the first rule is published: live hands it its history, so its counts are
backfilled from the lake and Kafka, not restarted from zero. A malformed event now and
then goes to the dead-letter topic; one invalid rule shows its error. Runs until Ctrl-C,
or for --duration, which bounds the whole run (start and stop included). It ends with
the console's address and commands to try next. When stdout is not a terminal it prints
a status line per refresh and the full view at the end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Out = cmd.OutOrStdout()
			if f, ok := cfg.Out.(*os.File); !ok || !isTerminal(f) {
				cfg.Plain = true
			}
			cfg.EnsureDefaults()
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			setGCPercent(gogc, !cfg.Live.NoArchive)
			return demo.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	addKafkaFlags(f, &cfg.Live.Kafka, &cfg.Live.Topics, "", allTopics)
	f.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (default: until Ctrl-C)")
	d := defaultsOf[demo.Config]()
	f.IntVar(&cfg.Rate, "rate", d.Rate, fmt.Sprintf("events per second (0: the default; at most %d: the broker keeps every event in memory)", demo.MaxRate))
	f.IntVar(&cfg.Customers, "customers", d.Customers, fmt.Sprintf("number of customers (0: the default; at most %d, whose ids the generator holds)", demo.MaxCustomers))
	f.Uint64Var(&cfg.Seed, "seed", d.Seed, "workload seed")
	f.StringVar(&cfg.RulesFile, "rules", "", "rules file to use instead of the built-in sample rules")
	f.DurationVar(&cfg.Refresh, "refresh", d.Refresh, "view refresh interval")
	f.StringVar(&cfg.Live.HTTPAddr, "http", "127.0.0.1:8080", "HTTP listen address of the daemon")
	f.StringVar(&cfg.Live.Embedded.Addr, "embedded-addr", defaultBrokers, "listen address of the embedded broker")
	f.BoolVar(&cfg.Plain, "plain", false, "print status lines instead of redrawing the screen")
	addGCFlag(f, &gogc)
	return cmd
}

// isTerminal reports whether f is a character device (a terminal), without a
// dependency: pipes, files and /dev/null-like sinks in CI get the plain output.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && f.Name() != os.DevNull
}
