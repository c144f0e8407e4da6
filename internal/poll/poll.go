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
	if !Within(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Within polls cond every 10ms until it holds or timeout passes, and reports whether
// it held. Use it rather than Until when the caller's own assertion after the wait
// says better what went wrong than "waiting for …" would (what stays open, the
// metrics or logs seen, which ids are missing), or when the wait is only a bound
// and the caller goes on either way.
func Within(timeout time.Duration, cond func() bool) bool {
	return WithinEvery(timeout, 10*time.Millisecond, cond)
}

// WithinEvery is Within asking cond every interval: for a cond that costs enough
// (a request to the broker, a replay of the whole history) that asking it a hundred
// times a second would load the 2-core machine the other tests share.
func WithinEvery(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
	return true
}
