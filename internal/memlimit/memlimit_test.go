package memlimit

import (
	"context"
	"errors"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hindsightdev/hindsight/internal/poll"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs g until the test ends, and waits for its first tick.
func start(t *testing.T, g *Governor) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	poll.Until(t, 10*time.Second, "the first tick", func() bool { return g.GoLimit() != 0 })
}

func TestValidate(t *testing.T) {
	for _, limit := range []int64{0, -1} {
		if _, err := New(Config{Limit: limit}); err == nil {
			t.Errorf("New accepted limit %d", limit)
		}
	}
}

// The runtime's limit is the budget less the off-heap bytes, re-read every tick, and
// never below MinGoShare of the budget.
func TestGoLimitFollowsOffHeap(t *testing.T) {
	const limit = 64 << 30 // far above this test's memory: never reached
	floor := int64(math.Ceil(MinGoShare * limit))
	var off atomic.Int64
	var released atomic.Int64
	g, err := New(Config{Limit: limit, OffHeap: off.Load, Interval: time.Millisecond, Release: func() { released.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	// Run restores the limit it found (cleanups run last first: this one after Run's).
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		if got := debug.SetMemoryLimit(-1); got != before {
			t.Errorf("after Run the runtime's limit is %d, was %d before", got, before)
		}
	})
	start(t, g)
	for _, tc := range []struct {
		name      string
		off, want int64
		// reached: the process is at its limit (its Go memory is far below it)
		reached bool
	}{
		{"no off-heap memory", 0, limit, false},
		{"a gigabyte off the heap", 1 << 30, limit - 1<<30, false},
		{"off-heap memory over the floor", limit - floor/2, floor, false},
		{"memory given back", 3 << 30, limit - 3<<30, false},
		// A count below zero (a caller's mistake) is none: it must not raise the
		// runtime's limit past the budget.
		{"a negative off-heap count", -1 << 30, limit, false},
		{"off-heap memory beyond the limit", 2 * limit, floor, true},
	} {
		off.Store(tc.off)
		poll.Until(t, 10*time.Second, tc.name+": the runtime's limit "+strconv.FormatInt(tc.want, 10), func() bool {
			return g.GoLimit() == tc.want && debug.SetMemoryLimit(-1) == tc.want && g.Total() >= tc.off
		})
		if tc.reached {
			poll.Until(t, 10*time.Second, tc.name+": a release", func() bool { return released.Load() > 0 })
		} else if n := released.Load(); n > 0 {
			t.Errorf("%s: released %d times under the limit", tc.name, n)
		}
		if g.Tight() != tc.reached {
			t.Errorf("%s: Tight() = %v", tc.name, g.Tight())
		}
	}
}

// A budget below what the process already uses is reached at once: Release and
// OnReached run on every tick, and Total shows the process's memory.
func TestReached(t *testing.T) {
	var released, reached atomic.Int64
	g, err := New(Config{Limit: 1 << 20, Interval: time.Millisecond,
		Release: func() { released.Add(1) }, OnReached: func() { reached.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	start(t, g)
	poll.Until(t, 10*time.Second, "three ticks at the limit", func() bool { return reached.Load() >= 3 })
	if n, got := reached.Load(), g.Reached(); got < n-1 || got > n+1 {
		t.Errorf("Reached() = %d after %d calls of OnReached", got, n)
	}
	if r, n := released.Load(), reached.Load(); r < n-1 || r > n+1 {
		t.Errorf("released %d times, reached %d", r, n)
	}
	if g.Total() < 1<<20 {
		t.Errorf("Total %d under a 1 MiB limit that was reached", g.Total())
	}
	if g.GoLimit() != 1<<20 { // no off-heap memory: the runtime has it all
		t.Errorf("GoLimit %d, want the whole 1 MiB", g.GoLimit())
	}
}

// Between ReleaseShare of the budget and the budget, memory kept for reuse is given
// back (Release) and Tight says so, while the limit is not yet reached (OnReached).
func TestReleaseNearTheLimit(t *testing.T) {
	const limit = 64 << 30 // far above this test's memory: off-heap bytes decide
	var released, reached atomic.Int64
	g, err := New(Config{Limit: limit, Interval: time.Millisecond,
		OffHeap: func() int64 { return limit * 95 / 100 },
		Release: func() { released.Add(1) }, OnReached: func() { reached.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	start(t, g)
	poll.Until(t, 10*time.Second, "three releases", func() bool { return released.Load() >= 3 })
	if n, r := reached.Load(), g.Reached(); n != 0 || r != 0 {
		t.Errorf("OnReached called %d times, Reached() = %d, with the process at %d of %d bytes", n, r, g.Total(), int64(limit))
	}
	if !g.Tight() {
		t.Errorf("Tight() = false at %d of %d bytes", g.Total(), int64(limit))
	}
}

func TestOneAtATime(t *testing.T) {
	a, err := New(Config{Limit: 64 << 30})
	if err != nil {
		t.Fatal(err)
	}
	start(t, a)
	b, _ := New(Config{Limit: 64 << 30})
	if err := b.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("a second Run: %v, want ErrRunning", err)
	}
}

// Memory the runtime gave back to the system is not the process's: a burst freed and
// returned (debug.FreeOSMemory, or the scavenger over time) leaves the process under a
// budget between what it holds and what the runtime ever mapped. Counted with the
// runtime's mapped total, the governor found it at its limit, called OnReached (the
// archive refusing work) and reported the memory in hindsight_memory_bytes for as long
// as the runtime kept the pages mapped.
func TestMemoryGivenBackIsNotCounted(t *testing.T) {
	func() {
		burst := make([]byte, 128<<20)
		for i := 0; i < len(burst); i += 4096 { // every page, so that the system backs it
			burst[i] = 1
		}
		runtime.KeepAlive(burst)
	}()
	runtime.GC()
	debug.FreeOSMemory()
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(samples)
	mapped, released := int64(samples[0].Value.Uint64()), int64(samples[1].Value.Uint64())
	if released < 64<<20 {
		t.Fatalf("the runtime released %d bytes after a burst of 128 MiB was freed; the test needs at least 64 MiB", released)
	}
	limit := mapped - released/2
	var reached atomic.Int64
	g, err := New(Config{Limit: limit, OnReached: func() { reached.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	g.tick()
	if n := reached.Load(); n != 0 || g.Reached() != 0 || g.Total() >= limit {
		t.Errorf("holding %d of %d bytes mapped (%d released), under a limit of %d: Total %d, OnReached called %d times, Reached() %d; want under the limit, none",
			mapped-released, mapped, released, limit, g.Total(), n, g.Reached())
	}
}
