package poll

import (
	"sync/atomic"
	"testing"
	"time"
)

// Within reports a condition that comes to hold as held, having asked until it did.
func TestWithinHeld(t *testing.T) {
	var calls atomic.Int64
	if !Within(10*time.Second, func() bool { return calls.Add(1) >= 3 }) {
		t.Fatalf("Within reported false for a condition true on the third call (%d calls)", calls.Load())
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("cond called %d times, want 3: Within asks until it holds and no more", got)
	}
}

// Within reports a condition that never holds as not held, once the bound has passed,
// having asked more than once.
func TestWithinNotHeld(t *testing.T) {
	var calls atomic.Int64
	start := time.Now()
	const timeout = 50 * time.Millisecond
	if Within(timeout, func() bool { calls.Add(1); return false }) {
		t.Fatal("Within reported true for a condition that never holds")
	}
	if waited := time.Since(start); waited < timeout {
		t.Errorf("Within gave up after %v, before its bound of %v", waited, timeout)
	}
	if got := calls.Load(); got < 2 {
		t.Errorf("cond called %d times, want it asked again until the bound", got)
	}
}

// Within on a condition already true returns at once, asking it once.
func TestWithinAlreadyHeld(t *testing.T) {
	calls := 0
	if !Within(0, func() bool { calls++; return true }) || calls != 1 {
		t.Errorf("Within(0, true) = false or called cond %d times, want true after 1 call", calls)
	}
}
