package main

import (
	"regexp"
	"strings"
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

// TestGroupMembersTakeCrashFlags: every stage that joins a consumer group (the live
// daemon, the standalone archiver) can be told how fast the group moves on from it after
// a crash; the standalone archiver once lacked both flags and stalled for Kafka's 45 s.
func TestGroupMembersTakeCrashFlags(t *testing.T) {
	root := newRootCmd()
	for _, name := range []string{"live", "archive"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.ParseFlags([]string{"--session-timeout", "6s", "--instance-id", "node-1"}); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for flag, want := range map[string]string{"session-timeout": "6s", "instance-id": "node-1"} {
			if got := cmd.Flags().Lookup(flag).Value.String(); got != want {
				t.Errorf("%s --%s = %q, want %q", name, flag, got, want)
			}
		}
	}
}

// TestTopicFlagsAreTheOnesUsed: a command shows the flags of the topics it reads or
// writes and no others.
func TestTopicFlagsAreTheOnesUsed(t *testing.T) {
	all := []string{"topic-events", "topic-controls", "topic-alerts", "topic-dlq", "topic-status", "topic-undelivered"}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"live"}, all},
		{[]string{"rules", "apply"}, []string{"topic-controls", "topic-status"}},
		{[]string{"rules", "list"}, []string{"topic-controls", "topic-status"}},
		{[]string{"destinations", "apply"}, []string{"topic-controls", "topic-status"}},
		{[]string{"mutes", "add"}, []string{"topic-controls", "topic-status"}},
		{[]string{"produce"}, []string{"topic-events"}},
		{[]string{"archive"}, []string{"topic-events"}},
		{[]string{"notify"}, []string{"topic-controls", "topic-alerts", "topic-undelivered"}},
		{[]string{"backfill"}, []string{"topic-events", "topic-controls"}},
		{[]string{"backtest"}, []string{"topic-events"}},
	} {
		cmd, _, err := newRootCmd().Find(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, name := range all {
			if cmd.Flags().Lookup(name) != nil {
				got = append(got, name)
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%v has topic flags %v, want %v", tc.args, got, tc.want)
		}
	}
}
