package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestSecondSignalSaysWhatEachCommandAbandons: a second signal during a stop printed
// live's words ("alerts in flight, the last commit, snapshots and the archive's final
// flush") whatever the command, produce and notify included. Each command with a long
// stop now says its own; the others say the generic words.
func TestSecondSignalSaysWhatEachCommandAbandons(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"live", "--brokers", "x:1"}, []string{"(live: alerts in flight", "snapshots"}, nil},
		{[]string{"archive"}, []string{"(archive: the final flush of the buffered events to the lake", "manifest"}, []string{"snapshot", "alerts"}},
		{[]string{"notify"}, []string{"(notify: the alerts being delivered", "Idempotency-Key"}, []string{"snapshot", "archive"}},
		{[]string{"produce", "events.ndjson"}, []string{"(produce: events not yet acknowledged by the broker"}, []string{"snapshot", "alerts", "archive"}},
		{[]string{"backtest", "-f", "rules.yaml"}, []string{"(backtest: left as kill -9 leaves it)"}, []string{"snapshot", "alerts"}},
		{[]string{"rules", "test", "-f", "rules.yaml"}, []string{"(rules test: left as kill -9 leaves it)"}, []string{"snapshot"}},
	} {
		got := secondSignalText(commandOf(newRootCmd(), tc.args), syscall.SIGTERM)
		if !strings.HasPrefix(got, "hindsight: terminated again: exiting at once, the stop under way abandoned (") {
			t.Errorf("%v: %q does not begin as every command's", tc.args, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%v: %q does not say %q", tc.args, got, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(got, n) {
				t.Errorf("%v: %q says %q, another command's", tc.args, got, n)
			}
		}
	}
	got := secondSignalText(commandOf(newRootCmd(), []string{"interrupt", "me"}), os.Interrupt)
	if want := "hindsight: interrupt again: exiting at once, the stop under way abandoned (left as kill -9 leaves it)\n"; got != want {
		t.Errorf("no command: %q, want %q", got, want)
	}
}

// TestStopAbandonsNamesCommands: each of stopAbandons' keys is a command's path, so
// that a command renamed does not lose its words without a failing test.
func TestStopAbandonsNamesCommands(t *testing.T) {
	root := newRootCmd()
	for path := range stopAbandons {
		c, _, err := root.Find(strings.Fields(path))
		if err != nil || c == root || strings.TrimPrefix(c.CommandPath(), "hindsight ") != path {
			t.Errorf("stopAbandons has %q, which is no command (found %v, %v)", path, c.CommandPath(), err)
		}
	}
}
