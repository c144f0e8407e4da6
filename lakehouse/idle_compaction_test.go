package lakehouse_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestArchiverOwningNoPartitionCompactsNothing: an archiver's maintenance compacts "the
// partitions this archiver owns at the time" (maintenanceLoop). One that owns none (a
// daemon with no partition assigned: more instances than partitions, a standby) must
// then compact nothing; it compacted every partition of the lake, racing the owners'
// own compactions, since an empty set of owned partitions reached compaction as nil,
// "all partitions".
func TestArchiverOwningNoPartitionCompactsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	cfg := archiverConfig(b, bkt, "owner")
	cfg.RollBytes = 16 << 10
	_, before := archiveEvents(t, b, lake, cfg, 7, 3000)
	files := len(before.Files(lakehouse.Filter{}))
	if files < 4 {
		t.Fatalf("only %d files archived: nothing to compact", files)
	}

	// An unlisted data object, older than the idle archiver's orphan grace: its deletion
	// shows that a maintenance pass ran (compaction comes first in a pass).
	orphan := "data/p=0000/h=2020-01-01T00/00000000000000000000-00000000000000000000-0bad.parquet"
	if err := bkt.Put(ctx, orphan, bytes.NewReader([]byte("debris"))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // older than the grace below

	// A fed archiver whose consumer was assigned no partition: it owns none.
	idle := archiverConfig(b, bkt, "")
	idle.Feed = lakehouse.NewFeed(0, 0, nil)
	idle.CompactInterval = 20 * time.Millisecond
	idle.CompactSmallBytes = 1 << 20
	idle.OrphanGrace = time.Millisecond
	stop := startArchiver(t, idle)
	poll.Until(t, 20*time.Second, "a maintenance pass of the idle archiver", func() bool {
		ok, err := bkt.Exists(ctx, orphan)
		return err == nil && !ok
	})
	stopArchivers(t, stop)

	after, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(after.Files(lakehouse.Filter{})); n != files {
		t.Errorf("an archiver owning no partition compacted partition 0: %d files -> %d (manifest v%d -> v%d, %d pending deletes)",
			files, n, before.Version(), after.Version(), len(after.Manifest().PendingDeletes))
	}
}
