package lakehouse_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestCompactionAndRetention merges small files (the swap is one manifest commit, the
// old objects go only after DeleteDelay), then expires old files and checks the manifest
// says what history is left.
func TestCompactionAndRetention(t *testing.T) {
	t.Parallel() // own broker and bucket: shares nothing, and spends its time waiting
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 3, "file")
	cfg := archiverConfig(b, bkt, "compact")
	cfg.RollBytes = 32 << 10
	// 12,000 events roll into some 220 small files; 4,000 into some 70 under -short,
	// still many per compacted file: the merge and its checks (checkExactlyOnce reads
	// every row back) were half the test's CPU.
	events := 12000
	if testing.Short() {
		events = 4000
	}
	h, before := archiveEvents(t, b, lake, cfg, 21, events)
	nBefore := len(before.Files(lakehouse.Filter{}))

	now := time.Now()
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1 << 20, TargetBytes: 1 << 20, DeleteDelay: time.Hour,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := lake.Snapshot(ctx)
	nAfter := len(after.Files(lakehouse.Filter{}))
	t.Logf("compaction: %d files -> %d (report %+v)", nBefore, nAfter, rep)
	if rep.FilesCompacted == 0 || nAfter >= nBefore/3 {
		t.Fatalf("compaction left %d of %d files", nAfter, nBefore)
	}
	checkExactlyOnce(t, lake, after, h)
	// Readers of the old snapshot can still fetch its files until DeleteDelay passes.
	for _, f := range before.Files(lakehouse.Filter{}) {
		if _, err := lake.Fetch(ctx, f, t.TempDir()); err != nil {
			t.Fatalf("old snapshot's file gone before DeleteDelay: %v", err)
		}
	}
	if len(after.Manifest().PendingDeletes) != rep.FilesCompacted {
		t.Errorf("%d pending deletes, want %d", len(after.Manifest().PendingDeletes), rep.FilesCompacted)
	}
	later := now.Add(2 * time.Hour)
	rep, err = lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1, DeleteDelay: time.Hour, Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ObjectsDeleted < len(after.Manifest().PendingDeletes) {
		t.Errorf("deleted %d objects, want at least %d", rep.ObjectsDeleted, len(after.Manifest().PendingDeletes))
	}
	for _, f := range before.Files(lakehouse.Filter{}) {
		if ok, _ := bkt.Exists(ctx, f.Path); ok && !after.Manifest().HasFile(f.Path) {
			t.Errorf("replaced file %s still in the bucket after DeleteDelay", f.Path)
		}
	}
	cur, _ := lake.Snapshot(ctx)
	if len(cur.Manifest().PendingDeletes) != 0 {
		t.Errorf("%d pending deletes left", len(cur.Manifest().PendingDeletes))
	}

	// Retention: a clock one period after the end of the first file of every partition
	// expires at least those files.
	var cutoff time.Time
	for _, ps := range cur.Partitions() {
		if f := cur.Files(lakehouse.Filter{Partitions: []int32{ps.Partition}})[0]; f.MaxTime.After(cutoff) {
			cutoff = f.MaxTime
		}
	}
	cutoff = cutoff.Add(time.Microsecond)
	clock := func() time.Time { return cutoff.Add(24 * time.Hour) }
	rep, err = lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1, Retention: 24 * time.Hour, DeleteDelay: -1, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesExpired < len(cur.Partitions()) {
		t.Fatalf("retention expired %d files, want at least one per partition", rep.FilesExpired)
	}
	kept, _ := lake.Snapshot(ctx)
	for _, ps := range kept.Partitions() {
		// The newest time retention dropped is kept, for readers to tell whether history
		// they are asked for reached into it.
		var dropped time.Time
		for _, f := range cur.Files(lakehouse.Filter{Partitions: []int32{ps.Partition}}) {
			if f.MaxTime.Before(cutoff) && f.MaxTime.After(dropped) {
				dropped = f.MaxTime
			}
		}
		if !ps.DroppedTime.Equal(dropped) || dropped.IsZero() {
			t.Errorf("partition %d: dropped time %v, want %v, the newest of the files dropped", ps.Partition, ps.DroppedTime, dropped)
		}
		if ps.Watermark != h.ends()[ps.Partition] {
			t.Errorf("partition %d: retention moved the watermark to %d", ps.Partition, ps.Watermark)
		}
		files := kept.Files(lakehouse.Filter{Partitions: []int32{ps.Partition}})
		if len(files) == 0 {
			if ps.Earliest != ps.Watermark+1 || !ps.EarliestTime.IsZero() {
				t.Errorf("partition %d: no file left, yet earliest is %d@%v", ps.Partition, ps.Earliest, ps.EarliestTime)
			}
			continue
		}
		if ps.Earliest == 0 || ps.Earliest != files[0].StartOffset || ps.EarliestTime.IsZero() || ps.EarliestTime.Before(cutoff.Add(-time.Hour)) {
			t.Errorf("partition %d: earliest %d@%v, first file left starts %d@%v", ps.Partition, ps.Earliest, ps.EarliestTime, files[0].StartOffset, files[0].MinTime)
		}
	}
	for _, f := range kept.Files(lakehouse.Filter{}) {
		if f.MaxTime.Before(cutoff) {
			t.Errorf("%s (max time %v) survived retention", f.Path, f.MaxTime)
		}
	}
	// What is left is exactly the produced offsets at or above each partition's Earliest.
	left := newHistory(0)
	for k, v := range h.recs {
		if ps, _ := kept.Partition(k.p); k.o >= ps.Earliest {
			left.recs[k] = v
		}
	}
	checkExactlyOnce(t, lake, kept, left)
}

// TestTwoWriters runs two archivers on one lake: in one consumer group they split the
// partitions; in two groups both read everything, and the manifest's compare-and-swap
// decides, file by file, who archives each offset. Either way: exactly once.
func TestTwoWriters(t *testing.T) {
	t.Parallel() // own broker and bucket: shares nothing, and spends its time waiting
	for _, mode := range []string{"same-group", "rival-groups"} {
		t.Run(mode, func(t *testing.T) {
			b, bkt, lake := brokerAndLake(t, 4, "file")
			h := newHistory(33)
			cl := b.Client(t)
			// 40 batches 20 ms apart, the archivers racing under them; under -short of
			// 100 events, not 250: the same race over as long, for 40% of the rows to
			// archive and read back.
			perBatch := 250
			if testing.Short() {
				perBatch = 100
			}
			wait := backgroundProducer(t, h, cl, 40*perBatch, perBatch, 20*time.Millisecond)
			g2 := "one"
			if mode == "rival-groups" {
				g2 = "two"
			}
			stop1 := startArchiver(t, archiverConfig(b, bkt, "one"))
			stop2 := startArchiver(t, archiverConfig(b, bkt, g2))
			wait()
			snap := archiveAll(t, lake, h, 60*time.Second, stop1, stop2)
			checkExactlyOnce(t, lake, snap, h)
			t.Logf("%d files, manifest v%d", len(snap.Files(lakehouse.Filter{})), snap.Version())
		})
	}
}

// TestCompactionWhileArchiving runs maintenance inside a busy archiver whose files roll
// by age, so they are small: compaction merges them under its feet, exactly once.
func TestCompactionWhileArchiving(t *testing.T) {
	t.Parallel() // own broker and bucket: shares nothing, and spends its time waiting
	b, bkt, lake := brokerAndLake(t, 2, "s3")
	h := newHistory(44)
	cl := b.Client(t)
	cfg, reg := meteredArchiverConfig(b, bkt, "busy")
	cfg.RollBytes = 1 << 20
	cfg.RollAge = 20 * time.Millisecond
	cfg.CompactInterval = 100 * time.Millisecond
	cfg.CompactSmallBytes = 1 << 20
	cfg.DeleteDelay = time.Millisecond
	stop := startArchiver(t, cfg)
	// 80 batches 20 ms apart, compaction merging under them; under -short of 40
	// events, not 100: as many files rolled by age, for 40% of the rows.
	perBatch := 100
	if testing.Short() {
		perBatch = 40
	}
	wait := backgroundProducer(t, h, cl, 80*perBatch, perBatch, 20*time.Millisecond)
	wait()
	waitArchived(t, lake, h.ends(), 60*time.Second)
	// Maintenance runs on its own clock: give it a bounded while to catch up.
	poll.Until(t, 60*time.Second, "compaction to halve the files", func() bool {
		snap, err := lake.Snapshot(context.Background())
		return err == nil && float64(len(snap.Files(lakehouse.Filter{}))) <= promtest.Sum(t, reg, "hindsight_lake_files_committed_total")/2
	})
	stopArchivers(t, stop)
	snap, _ := lake.Snapshot(context.Background())
	checkExactlyOnce(t, lake, snap, h)
	committed := promtest.Sum(t, reg, "hindsight_lake_files_committed_total")
	compacted := promtest.Sum(t, reg, "hindsight_lake_files_compacted_total")
	n := len(snap.Files(lakehouse.Filter{}))
	t.Logf("%v files committed, %v merged away, %d left, manifest v%d", committed, compacted, n, snap.Version())
	if compacted == 0 || float64(n) > committed/2 {
		t.Errorf("compaction did not keep up: %v files committed, %d left", committed, n)
	}
}

// Compaction writes merged files with its own codec, whatever the files it merges were
// written with: a lake may hold both, each file read with its own.
func TestCompactionCodec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	cfg := archiverConfig(b, bkt, "codec")
	cfg.RollBytes = 32 << 10
	h, before := archiveEvents(t, b, lake, cfg, 5, 600)
	if n := len(before.Files(lakehouse.Filter{})); n < 2 {
		t.Fatalf("%d files archived, want several to merge", n)
	}
	if _, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{Compression: lakehouse.CompressionSnappy, CompactSmallBytes: 64 << 20,
		TargetBytes: 64 << 20, DeleteDelay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	after, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := after.Files(lakehouse.Filter{})
	if len(files) != 1 {
		t.Fatalf("compaction left %d files, want 1", len(files))
	}
	path, err := lake.Fetch(ctx, files[0], t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	for i := range pr.MetaData().NumRowGroups() {
		rg := pr.MetaData().RowGroup(i)
		for c := range rg.NumColumns() {
			if cc, _ := rg.ColumnChunk(c); cc.Compression() != compress.Codecs.Snappy {
				t.Errorf("merged file: row group %d column %d is %v, want snappy", i, c, cc.Compression())
			}
		}
	}
	checkExactlyOnce(t, lake, after, h)
	if _, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{Compression: "gzip"}); err == nil {
		t.Error("compaction took codec gzip")
	}
}

// TestNoCollectionWithoutAManifest: with every manifest unreadable, each of the lake's
// files looks orphaned, so collection deletes none of them; with the newest alone
// unreadable, the files only it listed look orphaned, so it deletes none either. Once
// the manifests read again, the lake holds all its history.
func TestNoCollectionWithoutAManifest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	bkt, _ := openTestBucket(t, "mem")
	lake := lakehouse.NewLake(bkt, testLogger())
	h, _ := archiveEvents(t, b, lake, archiverConfig(b, bkt, "gc"), 7, 600)
	manifests, data := objects(t, bkt, "manifest/"), objects(t, bkt, "data/")
	if len(manifests) == 0 || len(data) == 0 {
		t.Fatalf("%d manifests, %d data files: the test shows nothing", len(manifests), len(data))
	}
	if len(manifests) < 2 {
		t.Fatalf("%d manifests: no older one to leave readable", len(manifests))
	}
	newest := slices.Max(slices.Collect(maps.Keys(manifests)))
	for _, unreadable := range []map[string][]byte{manifests, {newest: manifests[newest]}} {
		rot(t, bkt, unreadable)
		rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{OrphanGrace: time.Nanosecond, KeepManifests: 1000})
		if err != nil {
			t.Fatalf("maintenance with %d of %d manifests unreadable: %v", len(unreadable), len(manifests), err)
		}
		if left := objects(t, bkt, "data/"); rep.ObjectsDeleted != 0 || len(left) != len(data) {
			t.Fatalf("with %d of %d manifests unreadable, maintenance deleted %d objects; %d of %d data files left",
				len(unreadable), len(manifests), rep.ObjectsDeleted, len(left), len(data))
		}
		restore(t, bkt, manifests)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, lake, snap, h)
}
