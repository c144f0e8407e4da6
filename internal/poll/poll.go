// Package poll waits, in tests, for a condition that goroutines of the code under test
// make true: a bounded wait that fails the test, naming what it waited for, when the
// bound passes.
package poll

import (
	"testing"
	"time"
)

// Until polls cond every 10ms until it holds, failing t after timeout.
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
