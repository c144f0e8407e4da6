package lakehouse_test

import (
	"runtime/debug"
	"testing"

	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestArchiverMemoryLimit: a standalone archiver with a budget below what the process
// uses archives every record once, counts the limit reached under the live daemon's
// names, shows the process's memory, and restores the runtime's limit when it stops.
// Not parallel: the runtime's limit is the process's.
func TestArchiverMemoryLimit(t *testing.T) {
	// Not parallel: it sets the runtime's memory limit, which the whole process shares.
	const limit = 8 << 20 // far below this test process's memory
	before := debug.SetMemoryLimit(-1)
	b, bkt, lake := brokerAndLake(t, 2, "mem")
	cfg, reg := meteredArchiverConfig(b, bkt, "archiver")
	cfg.MemoryLimit = limit
	h, snap := archiveEvents(t, b, lake, cfg, 11, 2000)
	checkExactlyOnce(t, lake, snap, h)

	if got := promtest.Value(t, reg, "hindsight_limit", "name", "memory_limit_bytes"); got != limit {
		t.Errorf("hindsight_limit{memory_limit_bytes} = %v, want %d", got, limit)
	}
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", "memory_limit_bytes"); got < 1 {
		t.Errorf("hindsight_limit_reached_total{memory_limit_bytes} = %v under a limit the process is far over", got)
	}
	if got := promtest.Sum(t, reg, "hindsight_memory_bytes"); got < limit {
		t.Errorf("hindsight_memory_bytes = %v at a limit of %d that was reached", got, limit)
	}
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("after the archiver stopped the runtime's limit is %d, was %d before", got, before)
	}
}

// An archiver refuses a negative budget.
func TestArchiverMemoryLimitValidate(t *testing.T) {
	t.Parallel()
	b, bkt, _ := brokerAndLake(t, 1, "mem")
	cfg := archiverConfig(b, bkt, "archiver")
	cfg.MemoryLimit = -1
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err == nil {
		t.Fatal("MemoryLimit -1 accepted")
	}
}
