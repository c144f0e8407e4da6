package main

import (
	"strings"
	"testing"
)

// Live flags that contradict each other are refused, exit status 2, and the error
// names the flags to change, as the console's page sizes do
// ("(--console-windows-page-size, --console-windows-max-page-size)"). A user who set
// only --counts-max-page-size 10 read "counts page size 1000 is above the maximum
// page size 10", naming no flag, and a value they never gave.
func TestLiveConflictingFlagsAreNamed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args  []string
		flags []string
	}{
		{[]string{"--counts-max-page-size", "10"}, []string{"--counts-page-size", "--counts-max-page-size"}},
		{[]string{"--http-max-streams", "600"}, []string{"--http-max-streams", "--http-max-connections"}},
		{[]string{"--preview-timeout", "2m"}, []string{"--preview-timeout", "--http-write-timeout"}},
		{[]string{"--max-snapshot-age", "10s", "--snapshot-interval", "20s"}, []string{"--max-snapshot-age", "--snapshot-interval"}},
	} {
		args := append([]string{"live", "--ephemeral", "--http", "127.0.0.1:0", "--embedded-addr", "127.0.0.1:0"}, tc.args...)
		code, last := runToEnd(t, args...)
		if code != 2 {
			t.Errorf("hindsight %s: exit status %d (%s), want 2", strings.Join(tc.args, " "), code, last)
			continue
		}
		for _, f := range tc.flags {
			if !strings.Contains(last, f) {
				t.Errorf("hindsight %s: the error does not name %s: %s", strings.Join(tc.args, " "), f, last)
			}
		}
	}
}
