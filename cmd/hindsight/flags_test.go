package main

import (
	"regexp"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// handDefault is a default written into a flag's usage by hand. Cobra prints a flag's
// real default (its value before parsing) itself, so a hand-written one can only
// disagree with it: "--commit-interval … (default 1s)" once said 1s for a flag whose
// value was 0.
var handDefault = regexp.MustCompile(`\(default \d`)

func TestFlagDefaultsAreTheFlagValues(t *testing.T) {
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			n++
			if handDefault.MatchString(f.Usage) {
				t.Errorf("%s --%s: usage %q states a default by hand; set it as the flag's value (%q now)", c.CommandPath(), f.Name, f.Usage, f.DefValue)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	if n < 50 {
		t.Fatalf("only %d flags visited: the walk missed commands", n)
	}
}
