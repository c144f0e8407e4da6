package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/internal/lines"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
	"github.com/hindsightdev/hindsight/window"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Author, test and publish alert rules",
	}
	// Rules are validated with the limits in force: every rules subcommand takes the
	// same limit flags as the daemon, so that they agree on which rules are valid.
	limits := new(rule.Limits)
	addRuleLimitFlags(cmd.PersistentFlags(), limits)
	cmd.AddCommand(newRulesTestCmd(limits))
	cmd.AddCommand(rulesKafkaCommands(limits)...)
	return cmd
}

func newRulesTestCmd(limits *rule.Limits) *cobra.Command {
	var cfg rulesTestConfig
	cmd := &cobra.Command{
		Use:   "test -f RULES [EVENTS.ndjson | -]",
		Short: "Run the rules' tests, and show which rules each event of an NDJSON stream satisfies",
		Long: `Run the tests written with the rules of RULES (a rule's tests: list), with the
evaluator the live daemon runs, and print a report as go test -v does. Exit status 1 when
a test fails, 2 when RULES is invalid or has nothing rules apply would publish (no
rules, destinations or mutes: "rules: []").

When events are given, then evaluate every rule against them and print which rules
each event satisfies, and per rule the customers whose count reaches the threshold.
The events are EVENTS (NDJSON, one event per line), "-" for standard input, or standard
input when it is piped or redirected from a file and not empty (a terminal and /dev/null
are no events). Tests run first; with events and a file without tests, only the events
are evaluated. The events' windowed and grouped state is bounded by --max-groups and
--max-distinct as the daemon's is (a rule's own limits: override them), running counts
by --max-counters and --max-customer-ids-bytes, and a rule that reaches one is reported degraded; the
summary's counts and alerts per customer by --max-customers, past which a rule's report says how
many matches and alerts of other customers it did not list (MATCHES stays the total); the tests run under the defaults, so that they pass
or fail alike wherever they run. A windowed rule's matches its windows did not count, as
live would not (late, without a usable time), are reported as not counted. SIGINT or
SIGTERM stops the reading of events, even from an idle pipe or fifo (a terminal it also
writes to is read as it is: the signal takes effect at the next line or Ctrl-D): the events
read are reported, then the line it stopped at; exit status 1.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyRuleLimits(*limits); err != nil {
				return err
			}
			if err := customerOrKeySeparator(cfg.Customer, cfg.KeySeparator); err != nil {
				return err
			}
			cfg.Out = cmd.OutOrStdout()
			data, err := rule.ReadRulesFileBytes(cfg.RulesFile)
			if err != nil {
				return usageError{err}
			}
			file, err := rule.ParseRulesFileTests(cfg.RulesFile, data)
			if err != nil {
				return usageError{err}
			}
			// Its destinations and mutes, and its keys beside rules, as `rules apply`
			// reads them: a file this passes is one apply takes.
			nf, err := rule.ParseNotifyFile(cfg.RulesFile, data)
			if err != nil {
				return usageError{err}
			}
			if len(file.Rules) == 0 && len(nf.Destinations) == 0 && len(nf.Mutes) == 0 {
				// "rules: []" or "[]" (a bad merge, a template's empty value) is the
				// empty file apply and backtest refuse: passed, a CI gate let through
				// what the deploy's apply then refused.
				return usageError{fmt.Errorf("%w: %s: no rules (nor destinations or mutes)", rule.ErrInvalid, cfg.RulesFile)}
			}
			events, name, closeEvents, err := rulesTestEvents(cmd.Context(), cmd.InOrStdin(), args)
			if err != nil {
				if cmd.Context().Err() != nil {
					return err // a signal while waiting for the first event: no usage error
				}
				return usageError{err}
			}
			defer closeEvents()
			// Tests run unless the file has none and events are what was asked for;
			// event-stream output (--json included) is unchanged for files without
			// tests.
			var failed error
			if len(file.Tests) > 0 || events == nil {
				sum, err := runRuleTests(file, cfg.Out, cfg.JSON)
				if err != nil {
					return fmt.Errorf("writing the tests' report: %w", err)
				}
				failed = sum.Err(cfg.RulesFile)
				if events != nil && !cfg.JSON {
					fmt.Fprintln(cfg.Out)
				}
			}
			if events != nil {
				cfg.Events, cfg.EventsName, cfg.Rules = events, name, file.Rules
				sum, err := runRulesTest(cmd.Context(), cfg)
				if err != nil {
					if cmd.Context().Err() != nil {
						return err // stopped by a signal, reported up to where it stopped
					}
					return usageError{err}
				}
				// Every event skipped evaluated nothing: that is no pass.
				if sum.Events > 0 && sum.Invalid == sum.Events && failed == nil {
					failed = fmt.Errorf("%w: all %s of %s were skipped", errAllSkipped, plural(sum.Events, "event"), name)
				}
			}
			// A failing test is exit status 1, as go test's, apart from the 2 of an
			// invalid file.
			return failed
		},
	}
	cmd.Flags().StringVarP(&cfg.RulesFile, "file", "f", "", "rules file, YAML or JSON (required)")
	cmd.Flags().StringVar(&cfg.CustomerPath, "customer-path", rulecheck.DefaultCustomerPath, "JSONPath of each event's customer id")
	cmd.Flags().StringVar(&cfg.Customer, "customer", "", "customer id of every event (overrides --customer-path)")
	cmd.Flags().StringVar(&cfg.KeySeparator, "key-separator", "", `lines are KEY<sep>JSON, the key the customer (as kcat -K<sep> and hindsight produce take them), e.g. "|"`)
	cmd.Flags().BoolVar(&cfg.JSON, "json", false, "print the tests' results as one JSON object, and one JSON object per event, then one per rule a limit degraded, whose windows did not count matches or whose summary --max-customers cut ({rule, degraded, late, time_errors, max_customers_reached, matches_not_counted, alerts_not_counted})")
	// The events are evaluated under the limits a daemon runs with, so that a
	// degraded rule shows here as it would there.
	addWindowLimitFlags(cmd.Flags(), &cfg.Limits, window.DefaultLimits)
	addMaxCountersFlag(cmd.Flags(), &cfg.Limits.MaxCounters, "", "no bound")
	addMaxCustomerIDBytesFlag(cmd.Flags(), &cfg.Limits.MaxCustomerIDBytes)
	addLineBytesFlag(cmd.Flags(), &cfg.MaxLineBytes)
	cmd.Flags().IntVar(&cfg.MaxCustomers, "max-customers", rulecheck.DefaultMaxCustomers,
		"customers one rule's counts and alerts in the summary hold; matches and alerts of customers beyond are not listed, and the summary says how many (--json: max_customers_reached) (0: the default; negative: no bound)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// rulesTestEvents opens the events of `rules test`: the file args[0], "-" for stdin, or
// without argument stdin when it holds events. nil means none; done closes what it
// opened.
func rulesTestEvents(ctx context.Context, stdin io.Reader, args []string) (events io.Reader, name string, done func(), err error) {
	done = func() {}
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return nil, "", done, err
		}
		// A fifo may stay open and idle: a signal must still stop the reading.
		r, release := lines.UntilDone(ctx, f)
		return r, args[0], func() { release(); f.Close() }, nil
	}
	if len(args) == 1 {
		r, release := lines.UntilDone(ctx, stdin)
		return r, "stdin", release, nil
	}
	// Without an argument, stdin is events when it is piped or redirected from a file:
	// a terminal (or /dev/null, a character device too) is someone running the tests.
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice != 0 {
			return nil, "", done, nil
		}
	}
	// An empty stream is no events either: an empty file, or a job's closed pipe, runs
	// the tests alone.
	r, release := lines.UntilDone(ctx, stdin)
	br := bufio.NewReader(r)
	if _, err := br.Peek(1); err != nil {
		release()
		if errors.Is(err, io.EOF) {
			return nil, "", done, nil
		}
		if ctx.Err() != nil {
			return nil, "", done, fmt.Errorf("rules test interrupted waiting for events on stdin, none read: %w", err)
		}
		return nil, "", done, fmt.Errorf("reading events from stdin: %w", err)
	}
	return br, "stdin", release, nil
}
