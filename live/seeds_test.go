package live_test

import "testing"

// parallelSeeds marks a seed's subtest parallel when its test runs more than one seed
// (n). A parallel subtest gives up no slot of its own: its parent gives its slot back
// and the subtest waits behind every parallel test of the package not yet started, so
// the one seed -short keeps, seconds of waiting out sessions, started among the last
// and ended the package's run alone (the paused member's: 9 s, from 40 s into a 50 s
// run). A lone seed runs at once, in the slot its parent holds.
func parallelSeeds(t *testing.T, n int) {
	if n > 1 {
		t.Parallel()
	}
}
