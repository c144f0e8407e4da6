package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBackfillAtNegativeIsBadUsage: --at PARTITION:OFFSET takes neither a negative
// partition nor a negative offset (no record has one): each is bad usage, exit status 2,
// naming --at. The tests of --at tried a malformed value and a partition given twice,
// so dropping the offset's sign check passed them, and --at 0:-1 ran a backfill from
// an offset no record has.
func TestBackfillAtNegativeIsBadUsage(t *testing.T) {
	t.Parallel()
	url := manifestOnlyLake(t)
	rf := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, rf, "rules:\n  - {id: a, scope: \"*\", when: {path: $.type, op: ==, value: x}, threshold: 2}\n")
	for _, at := range []string{"0:-1", "-1:0", "0:5,1:-3"} {
		out, err := run(t, "", "backfill", "-f", rf, "--lake", url, "--brokers", "", "--cache-dir", t.TempDir(), "--at", at)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "--at") {
			t.Errorf("backfill --at %s: exit %d (%v), want 2 naming --at\n%s", at, exitCode(err), err, out)
		}
	}
}
