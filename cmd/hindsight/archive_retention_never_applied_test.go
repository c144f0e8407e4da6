package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// `hindsight archive --retention 24h` is "drop files whose newest event is older than
// this"; retention runs in the archiver's maintenance pass, every --compact-interval,
// whose negative value is "never". Given both, the archiver starts and keeps every
// file for ever: the retention asked for is silently never applied (nothing in the
// log or the exit status says so). Contradicting flags are refused before the brokers
// are asked, exit status 2, naming both flags (as live's are,
// TestLiveConflictingFlagsAreNamed); here the command gets past validation and fails
// only on the unreachable broker, exit status 1.
func TestArchiveRetentionWithoutMaintenanceIsRefused(t *testing.T) {
	t.Parallel()
	lake := "file://" + filepath.Join(t.TempDir(), "lake")
	out, err := run(t, "", "archive", "--lake", lake, "--brokers", "127.0.0.1:1", "--metrics-addr", "",
		"--retention", "24h", "--compact-interval", "-1s")
	code := exitCode(err)
	if code != 2 {
		t.Fatalf("archive --retention 24h --compact-interval -1s: exit status %d (%v), want 2: retention would never be applied\n%s", code, err, out)
	}
	for _, f := range []string{"--retention", "--compact-interval"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("the refusal does not name %s: %v", f, err)
		}
	}
}
