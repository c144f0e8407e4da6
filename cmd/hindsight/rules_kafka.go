package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
)

// brokerPingTimeout bounds the check that a broker answers before a command that
// talks to Kafka starts: without one it fails at once with what to do.
const brokerPingTimeout = 3 * time.Second

// defaultBrokers is --brokers' default for every command that is a Kafka client: the
// address `hindsight live` serves its embedded broker on when it is given none.
const defaultBrokers = ingest.DefaultEmbeddedAddr

// pingBrokers checks that a broker answers, saying what to do when none does; also,
// when set, names a further choice (such as an empty --brokers, to read the lake alone).
func pingBrokers(ctx context.Context, kc ingest.KafkaConfig, also string) error {
	if err := kc.Ping(ctx, brokerPingTimeout); err != nil {
		if !errors.Is(err, ingest.ErrNoBroker) {
			return err // stopped while asking
		}
		if also != "" {
			also = ", or " + also
		}
		return fmt.Errorf("%w — start `hindsight live` (its embedded broker listens on %s) or pass --brokers%s", err, defaultBrokers, also)
	}
	return nil
}

// stoppedWhileStarting is a daemon's answer to err from its start: nil when ctx ended
// (SIGINT or SIGTERM stop a daemon, and exit 0, at any point), else err.
func stoppedWhileStarting(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// rulesKafkaCommands are the rules subcommands that talk to the controls topic.
func rulesKafkaCommands(limits *rule.Limits) []*cobra.Command {
	return []*cobra.Command{newRulesApplyCmd(limits), newRulesListCmd(limits), newRulesDeleteCmd(limits)}
}

// rulesRunE wraps a rules command: environment, validation, and exit status 2 for bad
// input (invalid files, unknown rules) as opposed to 1 for failures.
//
// check, if not nil, reads and checks the command's input, under the rule limits,
// before any broker is asked: bad input says so (exit status 2, naming the file) whether
// a broker runs or not. It was asked first, so an invalid rules file was "no broker
// answered" (exit status 1) with no broker up.
func rulesRunE(cfg *rulesConfig, limits *rule.Limits, check, run func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := applyRuleLimits(*limits); err != nil {
			return err
		}
		cfg.Out = cmd.OutOrStdout()
		cfg.EnsureDefaults()
		if err := cfg.Validate(); err != nil {
			return usageError{err}
		}
		if check != nil {
			if err := rulesFileError(check(cmd, args)); err != nil {
				return err
			}
		}
		if err := pingBrokers(cmd.Context(), cfg.Kafka, ""); err != nil {
			return err
		}
		return rulesFileError(run(cmd, args))
	}
}

func addRulesFlags(cmd *cobra.Command, cfg *rulesConfig) {
	f := cmd.Flags()
	addKafkaFlags(f, &cfg.Kafka, &cfg.Topics, defaultBrokers, topicControls|topicStatus)
	f.DurationVar(&cfg.Timeout, "timeout", defaultRulesTimeout, "bound on talking to Kafka (0: the default)")
}

func newRulesApplyCmd(limits *rule.Limits) *cobra.Command {
	var (
		cfg  rulesConfig
		file string
		in   *rulesToApply
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Publish the rules of a YAML or JSON file on the controls topic",
		Long: `Validate every rule of FILE, run the rules' tests (as hindsight rules test does), and
publish an upsert control for each rule that is new or changed. If any rule is invalid, or
changed without a higher version than the active one, the errors name the file, line, rule
and field, and nothing is published (exit status 2). If a test fails, the tests' report is
printed and nothing is published (exit status 2); --skip-tests publishes without running
them. Tests are never published. The file's destinations: and mutes: lists, if any, are published
too (see hindsight destinations). With --wait, wait for a running daemon's verdict on each
control.`,
		Args: cobra.NoArgs,
		RunE: rulesRunE(&cfg, limits, func(*cobra.Command, []string) error {
			var err error
			in, err = readRulesToApply(cfg, file)
			// Failing tests refuse the file, as an invalid rule does.
			var tf *testsFailedError
			if errors.As(err, &tf) {
				return usageError{err}
			}
			return err
		}, func(cmd *cobra.Command, _ []string) error {
			return applyRules(cmd.Context(), cfg, in)
		}),
	}
	addRulesFlags(cmd, &cfg)
	cmd.Flags().StringVarP(&file, "file", "f", "", "rules file (YAML or JSON)")
	cmd.Flags().BoolVar(&cfg.AllowPrivate, "allow-private", false, "accept the file's destination URLs on private, loopback and link-local addresses")
	cmd.Flags().BoolVar(&cfg.SkipTests, "skip-tests", false, "publish without running the rules' tests (by default a file whose tests fail is refused)")
	cmd.Flags().DurationVar(&cfg.Wait, "wait", 0, "wait this long for the daemon's control statuses (0: don't wait)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func newRulesListCmd(limits *rule.Limits) *cobra.Command {
	var cfg rulesConfig
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the active rules and rejected controls on the controls topic",
		Args:  cobra.NoArgs,
		RunE: rulesRunE(&cfg, limits, nil, func(cmd *cobra.Command, _ []string) error {
			return listRules(cmd.Context(), cfg)
		}),
	}
	addRulesFlags(cmd, &cfg)
	cmd.Flags().BoolVar(&cfg.JSON, "json", false, "print JSON (as the daemon's /v1/rules)")
	return cmd
}

func newRulesDeleteCmd(limits *rule.Limits) *cobra.Command {
	var (
		cfg   rulesConfig
		scope string
	)
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Publish a delete control for one rule",
		Long: `Publish a delete control for the rule with id ID in --scope (default "*", the global
rules). Only that rule goes: rules with the same id in other scopes stay.`,
		Args: cobra.ExactArgs(1),
		RunE: rulesRunE(&cfg, limits, nil, func(cmd *cobra.Command, args []string) error {
			return deleteRule(cmd.Context(), cfg, rule.Key{Scope: scope, ID: args[0]})
		}),
	}
	addRulesFlags(cmd, &cfg)
	cmd.Flags().StringVar(&scope, "scope", rule.GlobalScope, `scope of the rule: a customer id, or "*"`)
	cmd.Flags().DurationVar(&cfg.Wait, "wait", 0, "wait this long for the daemon's control status (0: don't wait)")
	return cmd
}
