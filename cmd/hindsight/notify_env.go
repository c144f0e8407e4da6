package main

import (
	"maps"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hindsightdev/hindsight/notify"
)

// reserveFlagVariables gives c, the notify stage's configuration of cmd, the
// environment variable of every flag of every command (flagVariables). Every flag is
// also read from its variable (applyEnv), so a --notify-secret-env-prefix such as
// HINDSIGHT_ or HINDSIGHT_S would let a destination name HINDSIGHT_SASL_PASSWORD or
// HINDSIGHT_API_TOKEN and send it to a URL of its writer's choosing: the stage refuses a
// prefix under which one falls as it validates its options (exit status 2, naming the
// flag and the variable), and a reference to one. Called before the configuration is
// validated.
func reserveFlagVariables(cmd *cobra.Command, c *notify.Config) {
	c.ReservedEnv = flagVariables(cmd.Root())
}

// flagVariables is the environment variable (envName) of every flag of root and of
// the commands under it, sorted; --help's, which applyEnv does not read, aside.
func flagVariables(root *cobra.Command) []string {
	vars := map[string]bool{}
	visit := func(f *pflag.Flag) {
		if f.Name != "help" {
			vars[envName(f.Name)] = true
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(visit)
		c.PersistentFlags().VisitAll(visit)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return slices.Sorted(maps.Keys(vars))
}
