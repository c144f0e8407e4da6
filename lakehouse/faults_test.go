package lakehouse_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestStorageOutage stops the S3 server under a running archiver: it retries with
// backoff, falls behind (lag and storage errors show in its metrics), stops taking
// records once its buffers reach MaxBufferedBytes (one reach of the limit, however long
// the pause), and once S3 is back it catches up with nothing lost or doubled.
func TestStorageOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: an S3 outage and the backoff after it; runs in make test")
	}
	t.Parallel() // own broker and bucket: shares nothing, and spends its time waiting
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	srv := s3test.Start(t, "lake")
	bkt := lakehousetest.OpenBucket(t, srv.URL())
	lake := lakehouse.NewLake(bkt, testLogger())
	h := newHistory(5)
	cl := b.Client(t)
	cfg, reg := meteredArchiverConfig(b, bkt, "outage")
	cfg.MaxBufferedBytes = 2 * cfg.RollBytes // well under the outage's 3000 events
	stop := startArchiver(t, cfg)
	const limit = "archive_max_buffered_bytes"
	poll.Until(t, 10*time.Second, "the archiver's limits in its metrics", func() bool {
		return promtest.Value(t, reg, "hindsight_limit", "name", limit) == float64(cfg.MaxBufferedBytes)
	})

	h.produce(t, cl, 2000)
	waitArchived(t, lake, h.ends(), 60*time.Second)
	// The counter moves once the commit returns, a little after its manifest shows.
	poll.Until(t, 10*time.Second, "the archived records counted", func() bool {
		return promtest.Sum(t, reg, "hindsight_lake_records_archived_total") == 2000
	})
	archivedBefore := promtest.Sum(t, reg, "hindsight_lake_records_archived_total")
	reachedBefore := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", limit)

	srv.Stop()
	h.produce(t, cl, 3000)
	poll.Until(t, 30*time.Second, "storage errors, lag and the buffer limit reached in the metrics", func() bool {
		return promtest.Sum(t, reg, "hindsight_lake_storage_errors_total") >= 3 && promtest.Sum(t, reg, "hindsight_lake_lag_records") >= 1000 &&
			promtest.Value(t, reg, "hindsight_limit_reached_total", "name", limit) > reachedBefore
	})
	time.Sleep(time.Second) // ten of the paused loop's looks at its buffers
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", limit) - reachedBefore; n != 1 {
		t.Errorf("the outage's pause counted %v times as the buffer limit reached, want 1", n)
	}
	if got := promtest.Sum(t, reg, "hindsight_lake_records_archived_total"); got != archivedBefore {
		t.Errorf("archived %v records while storage was down", got-archivedBefore)
	}
	t.Logf("during outage: storage errors %v, lag %v records",
		promtest.Sum(t, reg, "hindsight_lake_storage_errors_total"), promtest.Sum(t, reg, "hindsight_lake_lag_records"))

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	h.produce(t, cl, 1000)
	waitArchived(t, lake, h.ends(), 60*time.Second)
	poll.Until(t, 30*time.Second, "lag back to zero", func() bool { return promtest.Sum(t, reg, "hindsight_lake_lag_records") == 0 })
	stopArchivers(t, stop)
	snap, _ := lake.Snapshot(context.Background())
	checkExactlyOnce(t, lake, snap, h)
}

// TestForeignAndCorruptObjects puts junk where the lake keeps its manifests and files:
// the archiver reports and skips it, keeps archiving exactly once, and maintenance and
// readers report corrupt files without failing.
func TestForeignAndCorruptObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	bkt, _ := openTestBucket(t, "file")
	for name, data := range map[string]string{
		"manifest/v999999999999.json": `{"format": 1, "version": 999999999999, "files": [{"path": "data/x"`,
		"manifest/README.txt":         "not a manifest",
		"data/p=0001/junk.txt":        "foreign",
	} {
		if err := bkt.Put(ctx, name, bytes.NewReader([]byte(data))); err != nil {
			t.Fatal(err)
		}
	}
	lake := lakehouse.NewLake(bkt, testLogger())
	cfg, reg := meteredArchiverConfig(b, bkt, "junk")
	h, snap := archiveEvents(t, b, lake, cfg, 9, 4000)
	if snap.Version() <= 999999999999 {
		t.Errorf("manifest version %d did not move past the corrupt one", snap.Version())
	}
	if promtest.Sum(t, reg, "hindsight_lake_corrupt_objects_total") < 1 {
		t.Error("the corrupt manifest was not reported in the metrics")
	}
	checkExactlyOnce(t, lake, snap, h)

	// Corrupt a committed file: readers and compaction report it and go on.
	files := snap.Files(lakehouse.Filter{Partitions: []int32{2}})
	victim := files[1]
	if err := bkt.Put(ctx, victim.Path, bytes.NewReader(bytes.Repeat([]byte("PAR1"), int(victim.Bytes/4)))); err != nil {
		t.Fatal(err)
	}
	if _, err := lake.ReadRows(ctx, victim); !errors.Is(err, lakehouse.ErrCorrupt) {
		t.Errorf("ReadRows of a corrupt file: err = %v, want ErrCorrupt", err)
	}
	other := files[2]
	if err := bkt.Put(ctx, other.Path, bytes.NewReader([]byte("short"))); err != nil {
		t.Fatal(err)
	}
	if _, err := lake.Fetch(ctx, other, t.TempDir()); !errors.Is(err, lakehouse.ErrCorrupt) {
		t.Errorf("Fetch of a truncated file: err = %v, want ErrCorrupt", err)
	}
	// The pass does all it can, then fails naming the corrupt files: a success had hid
	// a listed file that backfill and backtest cannot read.
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1 << 30})
	if !errors.Is(err, lakehouse.ErrCorrupt) || !strings.Contains(err.Error(), victim.Path) {
		t.Errorf("maintenance over a corrupt file: err = %v, want ErrCorrupt naming %s", err, victim.Path)
	}
	if rep.CorruptFiles < 1 || rep.ForeignObjects != 1 {
		t.Errorf("report = %+v, want corrupt files >= 1 and 1 foreign object", rep)
	}
	if ok, _ := bkt.Exists(ctx, "data/p=0001/junk.txt"); !ok {
		t.Error("maintenance deleted a foreign object")
	}
	if rep.FilesCompacted == 0 {
		t.Error("maintenance compacted nothing around the corrupt file")
	}
}

// TestArchiverReleasesArrowMemory runs a whole archiver on a checked allocator.
func TestArchiverReleasesArrowMemory(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	b, bkt, lake := brokerAndLake(t, 2, "mem")
	h := newHistory(3)
	cfg := archiverConfig(b, bkt, "leak")
	cfg.Allocator = mem
	cfg.CompactInterval = 200 * time.Millisecond // compaction reads and writes files too
	cfg.CompactSmallBytes = 1 << 20
	stop := startArchiver(t, cfg)
	h.produce(t, b.Client(t), 3000)
	waitArchived(t, lake, h.ends(), 60*time.Second)
	time.Sleep(500 * time.Millisecond)
	stopArchivers(t, stop)
	mem.AssertSize(t, 0)
	snap, _ := lake.Snapshot(context.Background())
	checkExactlyOnce(t, lake, snap, h)
}
