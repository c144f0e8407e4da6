package live_test

import (
	"runtime/debug"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestMemoryLimit: a budget below what the process uses is reached at once, and the
// daemon keeps evaluating and archiving; /metrics shows the budget, the times it was
// reached, the process's memory and the runtime's share of the budget, which is the
// runtime's limit while the daemon runs; the daemon's stop restores the limit it
// found. Not parallel: the runtime's limit is the process's.
func TestMemoryLimit(t *testing.T) {
	// Not parallel: it sets the runtime's memory limit, which the whole process shares.
	const limit = 8 << 20 // far below this test process's memory
	before := debug.SetMemoryLimit(-1)
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	reg := prometheus.NewRegistry()
	ld, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Registry, c.MemoryLimit, c.NoArchive = reg, limit, false
	})
	d := &httpDaemon{Daemon: ld, b: b, reg: reg}

	const n = 2000
	livetest.ProduceEvents(t, b, workload.New(3, workload.Config{Customers: 20}), n)
	poll.Until(t, wait, "every event evaluated under the limit", func() bool { return d.EventsSeen() >= n })
	poll.Until(t, wait, "the limit reached, and counted", func() bool { return d.reached(t, "memory_limit_bytes") >= 1 })
	if got := d.metric(t, "hindsight_limit", "name", "memory_limit_bytes"); got != limit {
		t.Errorf("hindsight_limit{memory_limit_bytes} = %v, want %d", got, limit)
	}
	if got := d.metric(t, "hindsight_memory_bytes"); got < limit {
		t.Errorf("hindsight_memory_bytes = %v at a limit of %d that was reached", got, limit)
	}
	// The gauge is the last tick's: wait for a read between ticks.
	poll.Until(t, wait, "the runtime's limit to be the gauge's", func() bool {
		g := d.metric(t, "hindsight_memory_go_limit_bytes")
		return g >= limit/4 && g <= limit && int64(g) == debug.SetMemoryLimit(-1)
	})

	stop()
	select {
	case <-d.Done():
	case <-time.After(wait):
		t.Fatal("the daemon did not stop")
	}
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("after the daemon stopped the runtime's limit is %d, was %d before", got, before)
	}
}
