package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/notify"
)

// handDefault is a default written into a flag's usage by hand. Cobra prints a flag's
// real default (its value before parsing) itself, so a hand-written one can only
// disagree with it: "--commit-interval … (default 1s)" once said 1s for a flag whose
// value was 0.
var handDefault = regexp.MustCompile(`\(default \d`)

func TestFlagDefaultsAreTheFlagValues(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// TestStorageTimeoutFlagOnEveryBucketCommand: every command that opens a bucket (a lake,
// the state) takes --storage-timeout, defaulting to lakehouse.DefaultStorageTimeout,
// and one that names a lake by --lake is among them, so that a command added later
// without it fails here.
func TestStorageTimeoutFlagOnEveryBucketCommand(t *testing.T) {
	t.Parallel()
	want := map[string]bool{"hindsight live": true, "hindsight archive": true, "hindsight backfill": true, "hindsight backtest": true,
		"hindsight lake ls": true, "hindsight lake stats": true, "hindsight lake compact": true}
	var walk func(c *cobra.Command)
	lookup := func(c *cobra.Command, name string) *pflag.Flag { // its own, or a parent's persistent flag
		if fl := c.Flags().Lookup(name); fl != nil {
			return fl
		}
		return c.InheritedFlags().Lookup(name)
	}
	walk = func(c *cobra.Command) {
		if lookup(c, "lake") != nil && c.Runnable() && !want[c.CommandPath()] {
			t.Errorf("%s takes --lake: add it to this test's list, with --storage-timeout", c.CommandPath())
		}
		if want[c.CommandPath()] {
			delete(want, c.CommandPath())
			switch fl := lookup(c, "storage-timeout"); {
			case fl == nil:
				t.Errorf("%s opens a bucket but has no --storage-timeout", c.CommandPath())
			case fl.DefValue != lakehouse.DefaultStorageTimeout.String():
				t.Errorf("%s --storage-timeout defaults to %s, want %v", c.CommandPath(), fl.DefValue, lakehouse.DefaultStorageTimeout)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	for path := range want {
		t.Errorf("no command %s", path)
	}
}

// TestTopicFlagsAreTheOnesUsed: a command shows the flags of the topics it reads or
// writes and no others.
func TestTopicFlagsAreTheOnesUsed(t *testing.T) {
	t.Parallel()
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

// TestLogFlagsTogether: every command that takes --log-level takes --log-format too, and
// both are checked.
func TestLogFlagsTogether(t *testing.T) {
	t.Parallel()
	var visit func(c *cobra.Command)
	n := 0
	visit = func(c *cobra.Command) {
		if c.Flags().Lookup("log-level") != nil {
			n++
			if c.Flags().Lookup("log-format") == nil {
				t.Errorf("%s takes --log-level without --log-format", c.CommandPath())
			}
		}
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(newRootCmd())
	if n < 5 {
		t.Errorf("%d commands take --log-level; live, notify, archive, lake and bench do", n)
	}
	if _, err := newLogger("info", "json"); err != nil {
		t.Error(err)
	}
	if _, err := newLogger("info", "xml"); err == nil || !strings.Contains(err.Error(), `--log-format "xml": use text or json`) {
		t.Errorf("--log-format xml: %v", err)
	}
	if _, err := run(t, "", "lake", "stats", "--lake", "mem://", "--log-format", "yaml"); exitCode(err) != 2 {
		t.Errorf("lake stats --log-format yaml: %v", err)
	}
}

// TestNoFlagVariableIsADestinationSecret: a destination may name as its secret any
// environment variable under --notify-secret-env-prefix, and sends it to a URL of its
// writer's choosing. Every flag is also read from HINDSIGHT_<FLAG>; under the default
// prefix, none must be, or a destination could read the daemon's own configuration
// (the first default, HINDSIGHT_NOTIFY_, held HINDSIGHT_NOTIFY_SECRET_DIR and every
// other --notify-* flag's variable).
func TestNoFlagVariableIsADestinationSecret(t *testing.T) {
	t.Parallel()
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			n++
			if v := envName(f.Name); strings.HasPrefix(v, notify.DefaultSecretEnvPrefix) {
				t.Errorf("%s --%s is read from %s, a name destinations may read as a secret (--notify-secret-env-prefix %s)",
					c.CommandPath(), f.Name, v, notify.DefaultSecretEnvPrefix)
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
