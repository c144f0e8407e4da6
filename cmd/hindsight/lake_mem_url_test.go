package main

import (
	"testing"
)

// `hindsight lake ls/stats/compact` read a lake another process wrote; reading (or
// maintaining) one never makes one, and a --lake naming a directory that does not
// exist is refused, exit status 2, "no lake at …". A mem:// lake lives and dies in the
// process that made it (README: it keeps nothing), so here it can only be a new, empty
// bucket: yet the commands report it as an existing empty lake, "manifest v0 … nothing
// stored yet" and "compacted 0 files", exit status 0 — the answer for a lake nothing
// was archived to, not for one that is not there (a user pointing them at a daemon's
// --lake mem:// is told its lake is empty).
func TestLakeCommandsRefuseAMemLake(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{"ls", "stats", "compact"} {
		out, err := run(t, "", "lake", sub, "--lake", "mem://")
		if code := exitCode(err); code != 2 {
			t.Errorf("hindsight lake %s --lake mem://: exit status %d (%v), want 2 (no lake there to read)\n%s", sub, code, err, out)
		}
	}
}
