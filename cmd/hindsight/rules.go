package main

import (
	"os"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/spf13/cobra"
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
		Use:   "test -f RULES EVENTS.ndjson",
		Short: "Print which rules each event of an NDJSON file satisfies",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.Events, cfg.EventsName = cmd.InOrStdin(), "stdin"
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return usageError{err}
				}
				defer f.Close()
				cfg.Events, cfg.EventsName = f, args[0]
			}
			cfg.Out = cmd.OutOrStdout()
			if err := applyEnv(cmd); err != nil {
				return usageError{err}
			}
			if err := applyRuleLimits(*limits); err != nil {
				return err
			}
			if _, err := runRulesTest(cmd.Context(), cfg); err != nil {
				return usageError{err}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfg.RulesFile, "file", "f", "", "rules file, YAML or JSON (required)")
	cmd.Flags().StringVar(&cfg.CustomerPath, "customer-path", "$.customer", "JSONPath of each event's customer id")
	cmd.Flags().StringVar(&cfg.Customer, "customer", "", "customer id of every event (overrides --customer-path)")
	cmd.Flags().BoolVar(&cfg.JSON, "json", false, "print one JSON object per event")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}
