package main

import (
	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/backfill"
)

func newBackfillCmd() *cobra.Command {
	var cfg backfill.CommandConfig
	cmd := &cobra.Command{
		Use:   "backfill (-f RULES | --rule SCOPE/ID…) [--customer C] [--at now|P:OFF,…]",
		Short: "Count rules over history: the lake through DuckDB, plus the tail from Kafka",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd); err != nil {
				return usageError{err}
			}
			cfg.Out, cfg.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return backfill.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	addKafkaFlags(f, &cfg.Kafka, &cfg.Topics, "")
	f.StringVar(&cfg.LakeURL, "lake", "file://./hindsight-lake", "lake bucket URL (file://… or s3://…)")
	f.StringVarP(&cfg.RulesFile, "file", "f", "", "rules file, YAML or JSON")
	f.StringSliceVar(&cfg.Rules, "rule", nil, "live rule SCOPE/ID (or ID of a global rule), read from the controls topic; repeatable")
	f.StringVar(&cfg.Customer, "customer", "", "count only this customer")
	f.StringVar(&cfg.At, "at", "now", `start offsets: "now" (the events topic's end) or PARTITION:OFFSET,…`)
	f.BoolVar(&cfg.JSON, "json", false, "print the counts as JSON")
	f.StringVar(&cfg.CacheDir, "cache-dir", "", "local cache of lake files (default: under the temp dir)")
	return cmd
}
