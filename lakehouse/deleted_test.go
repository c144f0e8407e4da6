package lakehouse_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// Records the broker deleted (the topic's retention) before the archiver read them are
// counted, per partition, and the file whose range covers them says how many it lacks,
// as does the file compaction merges it into; a log start moved only over what the lake
// holds already costs nothing.
func TestDeletedBeforeArchivedAreCounted(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	cl := b.Client(t)
	h := newHistory(7)
	h.produce(t, cl, 100) // offsets 0–99
	archiveAll(t, lake, h, 60*time.Second, startArchiver(t, archiverConfig(b, bkt, "deleted")))

	var deletedSoFar int64
	for _, step := range []struct {
		name     string
		logStart int64 // where the partition's log starts before the archiver resumes
		deleted  int64 // of the 100 records produced while it was stopped
	}{
		{"log start within the lake", 50, 0},
		{"log start beyond the lake", 230, 30},
	} {
		h.produce(t, cl, 100)
		deleteRecords(t, cl, step.logStart)
		deletedSoFar += step.deleted
		cfg, reg := meteredArchiverConfig(b, bkt, "deleted")
		snap := archiveAll(t, lake, h, 60*time.Second, startArchiver(t, cfg))
		if got := promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0"); got != float64(step.deleted) {
			t.Errorf("%s: hindsight_lake_deleted_unarchived_total = %v, want %d", step.name, got, step.deleted)
		}
		var deleted, rows int64
		for _, f := range snap.Files(lakehouse.Filter{}) {
			deleted += f.DeletedRecords()
			rows += f.Rows
			if len(f.Deleted) > 0 && (f.StartOffset > 200 || f.EndOffset < 229 || !slices.Equal(f.Deleted, []lakehouse.OffsetRange{{From: 200, To: 229}})) {
				t.Errorf("%s: file [%d, %d] says it lacks %v; only the one covering 200–229 should, and just those", step.name, f.StartOffset, f.EndOffset, f.Deleted)
			}
		}
		if produced := int64(len(h.recs)); deleted != deletedSoFar || rows != produced-deletedSoFar {
			t.Errorf("%s: the lake holds %d rows and says it lacks %d; want %d and %d", step.name, rows, deleted, produced-deletedSoFar, deletedSoFar)
		}
	}
	// Compaction merges the files and keeps the count.
	if _, err := lake.Maintain(context.Background(), lakehouse.MaintenanceConfig{CompactSmallBytes: 64 << 20, TargetBytes: 64 << 20, DeleteDelay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var lacking [][]lakehouse.OffsetRange
	for _, f := range snap.Files(lakehouse.Filter{}) {
		lacking = append(lacking, f.Deleted)
	}
	// (The merged file's range keeps the times of the file that noted it.)
	if len(lacking) != 1 || len(lacking[0]) != 1 || lacking[0][0].From != 200 || lacking[0][0].To != 229 || lacking[0][0].MaxTime.IsZero() {
		t.Errorf("after compaction the files lack %v, want one file lacking offsets 200–229", lacking)
	}
}

// deleteRecords moves the start of partition 0 of the events topic to at, as the
// topic's retention would.
func deleteRecords(t *testing.T, cl *kgo.Client, at int64) {
	t.Helper()
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: "events", Partition: 0, At: at})
	if resp, err := kadm.NewClient(cl).DeleteRecords(context.Background(), del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
}

// TestDeletedThenRefusedFetches: Kafka's retention deleted records the lake
// lacks, and the records at the new log start are ones live dead-letters (no row).
// The deleted range must be charged once to the file that covers it, however many
// fetches of refused records come before the next accepted one. It was charged once
// per such fetch, and the manifest refused the file lacking it twice: every commit
// failed from then on.
func TestDeletedThenRefusedFetches(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	cl := b.Client(t)
	h := newHistory(11)
	h.produce(t, cl, 100) // offsets 0–99
	archiveAll(t, lake, h, 60*time.Second, startArchiver(t, archiverConfig(b, bkt, "deleted-refused")))

	h.produce(t, cl, 100) // offsets 100–199: deleted before the archiver reads them
	bad := func(n int) {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			recs[i] = &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":`)} // live dead-letters it
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	bad(10) // offsets 200–209
	deleteRecords(t, cl, 200)

	cfg, reg := meteredArchiverConfig(b, bkt, "deleted-refused")
	stop := startArchiver(t, cfg)
	refused := func(n float64) func() bool {
		return func() bool { return promtest.Sum(t, reg, "hindsight_lake_records_refused_total") >= n }
	}
	// The refused records are read in the fetch that finds the deletion before them.
	poll.Until(t, 20*time.Second, "the archiver to read the records at the new log start", refused(10))
	bad(10) // a second fetch of refused records only: offsets 210–219
	poll.Until(t, 20*time.Second, "the archiver to read the second refused records, before any accepted one is produced", refused(20))
	h.produce(t, cl, 20) // offsets 220–239: accepted, the file covering 100–239 takes them
	ends := h.ends()
	var snap *lakehouse.Snapshot
	if !poll.Within(20*time.Second, func() bool {
		s, err := lake.Snapshot(context.Background())
		if err != nil {
			return false
		}
		snap = s
		return snap.Watermark(0) >= ends[0]
	}) {
		wm := int64(-2)
		if snap != nil {
			wm = snap.Watermark(0)
		}
		t.Fatalf("the lake's watermark stayed at %d (want %d); storage errors (commit manifest) %v",
			wm, ends[0], promtest.Value(t, reg, "hindsight_lake_storage_errors_total", "op", "commit manifest"))
	}
	for _, f := range snap.Files(lakehouse.Filter{}) {
		if d := f.DeletedRecords(); d != 0 && d != 100 {
			t.Errorf("file [%d, %d] lacks %v", f.StartOffset, f.EndOffset, f.Deleted)
		}
	}
	// Counted once, as the file that lists the range committed (just after the
	// manifest the snapshot read landed).
	poll.Until(t, 10*time.Second, "hindsight_lake_deleted_unarchived_total to count the committed range", func() bool {
		return promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0") > 0
	})
	if got := promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0"); got != 100 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 100 (100–199)", got)
	}
	stopArchivers(t, stop)
}

// TestRefusedThenDeletedAreNotCountedDeleted: the embedded (fed) archiver has read
// offsets 100–109, records live dead-letters (no file is open, so its next offset stays
// at 100). Then the topic's retention deletes 110–149 before it reads them, and the
// consumer's next fetch starts at the new log start, 150. Only 110–149 were deleted
// by Kafka; 100–109 were read and refused. The archiver charged 100–149 to the file
// as deleted (unchargedFrom started at next, not past the refused run), so the
// manifest, hindsight_lake_deleted_unarchived_total, `hindsight lake stats/ls` and
// backfill's missing-history report all said 50 records were lost where 40 were.
func TestRefusedThenDeletedAreNotCountedDeleted(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	prod := b.Client(t)
	h := newHistory(5)
	h.produce(t, prod, 100) // offsets 0–99

	feed := lakehouse.NewFeed(0, 0, nil)
	feed.Resume(0, 0)
	cfg, reg := meteredArchiverConfig(b, bkt, "")
	cfg.Feed = feed
	stop := startArchiver(t, cfg)
	feed.Records(0, 0, fetchRange(t, b, 0, 0, 99)[:100])
	waitArchived(t, lake, map[int32]int64{0: 99}, 20*time.Second)

	// Offsets 100–109: records live dead-letters; the archiver reads them.
	bad := make([]*kgo.Record, 10)
	for i := range bad {
		bad[i] = &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":`)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := prod.ProduceSync(ctx, bad...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	feed.Records(0, 100, fetchRange(t, b, 0, 100, 109)[:10])
	waitMetric(t, reg, "hindsight_lake_records_refused_total", 10, 10*time.Second)

	// Offsets 110–159; retention deletes up to 149 before the consumer reads them, and
	// its next fetch starts the log at 150.
	h.produce(t, prod, 50)
	deleteRecords(t, prod, 150)
	feed.Records(0, lakehouse.FromLogStart, fetchRange(t, b, 0, 150, 159)[:10])
	snap := waitArchived(t, lake, map[int32]int64{0: 159}, 20*time.Second)

	var lacking []lakehouse.OffsetRange
	for _, f := range snap.Files(lakehouse.Filter{}) {
		lacking = append(lacking, f.Deleted...)
	}
	want := []lakehouse.OffsetRange{{From: 110, To: 149}}
	if !slices.Equal(lacking, want) {
		t.Errorf("the lake says Kafka deleted offsets %v before they were archived, want %v (100–109 were read, and refused)", lacking, want)
	}
	// Counted as the file listing them committed, just after the manifest waitArchived read.
	poll.Until(t, 10*time.Second, "hindsight_lake_deleted_unarchived_total to count the committed range", func() bool {
		return promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0") > 0
	})
	if got := promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0"); got != 40 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 40", got)
	}
	stopArchivers(t, stop)
}

// TestQuietTailOfRefusedRecordsIsRecorded: after the partition's last archived event
// come records live dead-letters (no row), and the partition goes quiet: no file
// covers them, and the manifest records them as read, held no event (EmptyAfter),
// once they waited RollAge. Retention then deletes the log up to its end while the
// archiver is stopped. The next archiver resumes past them, counts nothing deleted, and
// its next file covers them, leaving no hole. Before, the restarted archiver resumed at
// the watermark, found the log starting past it, and wrote the refused records into
// the lake as deleted before they were archived.
func TestQuietTailOfRefusedRecordsIsRecorded(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	cl := b.Client(t)
	h := newHistory(13)
	h.produce(t, cl, 20) // offsets 0–19
	stop := startArchiver(t, archiverConfig(b, bkt, "quiet-tail"))
	waitArchived(t, lake, h.ends(), 30*time.Second)

	refused := []*kgo.Record{{Topic: "events", Value: []byte(`{"no":"key"}`)}, {Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":`)}}
	if err := cl.ProduceSync(context.Background(), refused...).FirstErr(); err != nil { // offsets 20–21
		t.Fatal(err)
	}
	var through lakehouse.PartitionState
	accounted := int64(-1)
	if !poll.Within(30*time.Second, func() bool {
		snap, err := lake.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		through, _ = snap.Partition(0)
		accounted = snap.Through(0)
		return accounted == 21
	}) {
		t.Fatalf("the lake accounts for partition 0 up to %d after 30s; want the refused records (21)", accounted)
	}
	if through.Watermark != 19 || through.EmptyAfter != 2 {
		t.Fatalf("partition 0: %+v; want the watermark at the last event (19), the 2 refused records after it", through)
	}
	stopArchivers(t, stop)
	deleteRecords(t, cl, 22)

	h.produce(t, cl, 5) // offsets 22–26
	cfg, reg := meteredArchiverConfig(b, bkt, "quiet-tail")
	snap := archiveAll(t, lake, h, 30*time.Second, startArchiver(t, cfg))
	if got := promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0"); got != 0 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 0: the records deleted were archived or refused", got)
	}
	files := snap.Files(lakehouse.Filter{})
	for _, f := range files {
		if len(f.Deleted) > 0 {
			t.Errorf("file [%d, %d] says it lacks %v", f.StartOffset, f.EndOffset, f.Deleted)
		}
	}
	if last := files[len(files)-1]; last.StartOffset != 20 || last.EndOffset != 26 || last.Rows != 5 {
		t.Errorf("the last file covers %d–%d with %d rows; want the refused records and the 5 events after them, 20–26", last.StartOffset, last.EndOffset, last.Rows)
	}
	if st, _ := snap.Partition(0); st.EmptyAfter != 0 || st.Watermark != 26 {
		t.Errorf("partition 0: %+v; want the watermark at 26 and nothing after it", st)
	}
}
