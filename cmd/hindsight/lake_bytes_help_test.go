package main

import (
	"strings"
	"testing"
	"time"
)

// TestLakeByteFlagsStateTheirMaximum: archive --roll-bytes and lake compact
// --target-bytes above 1 GiB are refused, exit status 2 ("out of range [1, 1GiB]"),
// and the help of neither gave that bound, where the other flags refused past a
// maximum give theirs.
func TestLakeByteFlagsStateTheirMaximum(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cmd  []string
		flag string
	}{
		{[]string{"archive"}, "--roll-bytes"},
		{[]string{"lake", "compact"}, "--target-bytes"},
	} {
		help, err := run(t, "", append(tt.cmd, "--help")...)
		line := ""
		for _, l := range strings.Split(help, "\n") {
			if strings.Contains(l, tt.flag+" ") {
				line = l
			}
		}
		if err != nil || !strings.Contains(line, "at most 1 GiB, 1073741824") {
			t.Errorf("hindsight %s --help (%v): %s's help %q does not give its maximum, 1 GiB", strings.Join(tt.cmd, " "), err, tt.flag, strings.TrimSpace(line))
		}
	}
	code, out, timedOut := runBounded(t, 15*time.Second, "lake", "compact", "--lake", "file://"+t.TempDir(), "--target-bytes", "1073741825")
	if code != 2 || timedOut || !strings.Contains(out, "1GiB") {
		t.Errorf("lake compact --target-bytes 1073741825: exit status %d (killed after 15s: %v), want 2 naming the bound; output:\n%.500s", code, timedOut, out)
	}
}
