package lakehouse_test

import (
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestSpareCoreEncodes: an archiver of FlushConcurrency 1 encodes two files at once
// exactly when SpareCore says a core is idle, counts those it encoded on it, and
// archives every record once either way.
func TestSpareCoreEncodes(t *testing.T) {
	t.Parallel() // own broker and bucket
	for _, tc := range []struct {
		name  string
		spare bool
		want  int // most files encoded at once
	}{
		{"no spare core", false, 1},
		{"a spare core", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, bkt, lake := brokerAndLake(t, 4, "mem")
			cfg, reg := meteredArchiverConfig(b, bkt, "archiver")
			cfg.FlushConcurrency = 1
			cfg.RollBytes = 16 << 10 // many files per flush
			cfg.SpareCore = func() bool { return tc.spare }
			var (
				mu        sync.Mutex
				running   int
				most      int
				waits     int
				partnered = make(chan struct{})
				once      sync.Once
			)
			lakehouse.SetEncodeHook(&cfg, func() {
				mu.Lock()
				running++
				most = max(most, running)
				if running == 2 {
					once.Do(func() { close(partnered) })
				}
				waits++
				wait := waits <= 5
				mu.Unlock()
				// The first files wait a while for a partner, unless two were seen
				// encoding at once: a second slot, if there is one, is taken meanwhile
				// by a file that closed since.
				if wait {
					select {
					case <-partnered:
					case <-time.After(300 * time.Millisecond):
					}
				}
				mu.Lock()
				running--
				mu.Unlock()
			})
			h := newHistory(7)
			// A backlog before the archiver: 4,000 events, 144 files of RollBytes;
			// under -short 1,600, 59 files, still several per flush.
			backlog := 4000
			if testing.Short() {
				backlog = 1600
			}
			h.produce(t, b.Client(t), backlog)
			stop := startArchiver(t, cfg)
			snap := archiveAll(t, lake, h, 60*time.Second, stop)
			checkExactlyOnce(t, lake, snap, h)

			mu.Lock()
			defer mu.Unlock()
			if most != tc.want {
				t.Errorf("at most %d files encoded at once, want %d", most, tc.want)
			}
			spare := promtest.Sum(t, reg, "hindsight_lake_spare_core_encodes_total")
			if tc.spare != (spare > 0) {
				t.Errorf("hindsight_lake_spare_core_encodes_total = %v with SpareCore %v", spare, tc.spare)
			}
			if files := len(snap.Files(lakehouse.Filter{})); files < 8 {
				t.Errorf("only %d files: the test needs several per flush", files)
			}
		})
	}
}
