package lakehouse_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestDeleteDelayCountsFromTheReplacingCommit: a compaction merges small files, but
// its manifest commit fails for a while (the store refuses conditional writes, as in
// TestCompactionCommitOutlivesOrphanGrace). Meanwhile a reader takes a snapshot: the
// newest manifest, which still lists the small files. The commit then lands. The small
// files must stay in place for DeleteDelay after that, since the reader's manifest was
// replaced only now ("Its files stay fetchable for at least DeleteDelay after a newer
// version replaced them"). The compaction stamped them removed when it started
// committing, before the outage, so the same pass's deletePending, right after the
// commit, deleted them at once and the reader's fetch failed.
func TestDeleteDelayCountsFromTheReplacingCommit(t *testing.T) {
	t.Parallel()
	inner, lake, _, before := smallFilesLake(t, "file", "deletedelay", 43)

	const delay = time.Second
	// The outage lasts longer than DeleteDelay: the compactor's clock is moved past it
	// once its commit has failed, instead of the test sleeping it out. The store's time
	// of the replacing manifest (which deletePending also checks) stays the real one,
	// behind that clock as it was behind the real one after the sleep.
	var skipped atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skipped.Load())) }
	endOutage := compactDuringOutage(t, inner, lakehouse.MaintenanceConfig{DeleteDelay: delay, Now: now})
	skipped.Store(int64(delay + 500*time.Millisecond))

	// A reader (backfill, backtest) takes the newest manifest: the small files.
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version() != before.Version() {
		t.Fatalf("snapshot v%d, want v%d", snap.Version(), before.Version())
	}
	endOutage()
	replacedAt := time.Now()
	after, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after.Version() == before.Version() {
		t.Fatal("the compaction committed nothing")
	}
	cache := t.TempDir()
	for _, f := range snap.Files(lakehouse.Filter{}) {
		if _, err := lake.Fetch(context.Background(), f, cache); err != nil {
			t.Errorf("reader of v%d, replaced by v%d at most %v ago (DeleteDelay %v), cannot fetch %s: %v",
				snap.Version(), after.Version(), time.Since(replacedAt).Round(time.Millisecond), delay, f.Path, err)
			if !errors.Is(err, lakehouse.ErrNotFound) {
				t.Log("(not ErrNotFound)")
			}
		}
	}
}

// TestDeleteDelayUnderClockSkew: two maintainers of one lake (an archiver's maintenance
// loop and `hindsight lake compact`, or archivers on two hosts) whose clocks differ by
// more than DeleteDelay. The one whose clock runs 15 minutes behind compacts; the
// other, on the right time, runs its pass a moment later. A reader holding the manifest
// the compaction replaced still fetches its files for DeleteDelay (default 10 minutes):
// the removing manifest's time in the store bounds the delay too. The removal time was
// only stamped from the compactor's clock, and the second pass deleted them at once.
func TestDeleteDelayUnderClockSkew(t *testing.T) {
	t.Parallel()
	inner, lake, _, _ := smallFilesLake(t, "file", "clockskew", 47)
	// A reader (backfill, backtest) holds the newest manifest.
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	behind := func() time.Time { return time.Now().Add(-15 * time.Minute) }
	skewed := lakehouse.NewLake(inner, testLogger())
	rep, err := skewed.Maintain(context.Background(), lakehouse.MaintenanceConfig{
		CompactSmallBytes: 64 << 20, TargetBytes: 64 << 20, Now: behind})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesCompacted == 0 {
		t.Fatal("nothing compacted")
	}
	replacedAt := time.Now()
	// The other maintainer's pass, on the right time, default DeleteDelay (10 minutes).
	if _, err := lake.Maintain(context.Background(), lakehouse.MaintenanceConfig{CompactSmallBytes: 1}); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	for _, f := range snap.Files(lakehouse.Filter{}) {
		if _, err := lake.Fetch(context.Background(), f, cache); err != nil {
			t.Errorf("reader of v%d, replaced %v ago (DeleteDelay 10m), cannot fetch %s: %v",
				snap.Version(), time.Since(replacedAt).Round(time.Millisecond), f.Path, err)
		}
	}
}
