package lakehouse

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// offlineArchiverOver is offlineArchiver over bkt: a second one over the same bucket is
// the archiver's next run over the same lake.
func offlineArchiverOver(t *testing.T, bkt Bucket) *archiver {
	t.Helper()
	cfg := ArchiverConfig{Brokers: []string{"127.0.0.1:1"}, Bucket: bkt, RollBytes: 1 << 30}
	cfg.EnsureDefaults()
	a, err := newArchiver(cfg, cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.releaseAll)
	return a
}

// pollOnce is what pollLoop does with one fetch: its records appended, then the seeks
// applied.
func pollOnce(a *archiver, fps ...kgo.FetchTopicPartition) {
	a.append(fetchesOf(fps...), time.Now())
	a.applySeeks()
}

// committedDeleted are the Deleted ranges of partition 0's files in the lake's newest
// manifest.
func committedDeleted(t *testing.T, a *archiver) []OffsetRange {
	t.Helper()
	m, _, err := a.store.latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []OffsetRange
	for _, f := range m.Files {
		if f.Partition == 0 {
			out = append(out, f.Deleted...)
		}
	}
	return out
}

func sameRanges(x, y OffsetRange) bool { return x.From == y.From && x.To == y.To }

// TestDeletedFoundBelowARivalsThroughIsNotCounted: this archiver's file of 400–450 is
// rejected because another writer archived the partition to 460, and meanwhile it
// found 451–479 deleted by Kafka's retention (its fetch from the log start, 480, held
// only records live dead-letters). The lake's account of 451–460 is the other
// writer's; this archiver's next file lists 461–479 alone as deleted, and that is what
// it counts. Counted when found, the metric read 29: 10 offsets no file of this
// archiver lists, which the other writer counts too if its file lists them.
func TestDeletedFoundBelowARivalsThroughIsNotCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := offlineArchiver(t)
	t.Cleanup(a.releaseAll)
	a.parts[0] = &partState{next: 400, refusedTo: -1, covered: -1}
	pollOnce(a, fetchOf(400, 450, -1, `{"n":1}`))
	a.sealAll()

	// The other writer commits first, up to 460.
	if _, err := a.store.commit(ctx, func(m *Manifest) error {
		m.setPartition(PartitionState{Partition: 0, Earliest: 400, Watermark: 460})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	pollOnce(a, fetchOf(480, 490, 480, `{"n":`)) // refused: live dead-letters them
	if got := a.parts[0].deleted; !slices.EqualFunc(got, []OffsetRange{{From: 451, To: 479}}, sameRanges) {
		t.Fatalf("before the flush the partition waits to list %v as deleted, want [451–479]", got)
	}
	if err := a.flush(ctx); err != nil { // this archiver's 400–450 is rejected
		t.Fatal(err)
	}
	pollOnce(a)                                  // the seek, to 461
	pollOnce(a, fetchOf(480, 490, 480, `{"n":`)) // read again from the log start
	pollOnce(a, fetchOf(491, 495, 480, `{"n":1}`))
	a.sealAll()
	if err := a.flush(ctx); err != nil {
		t.Fatal(err)
	}

	if got := committedDeleted(t, a); !slices.EqualFunc(got, []OffsetRange{{From: 461, To: 479}}, sameRanges) {
		t.Fatalf("the lake's files list %v as deleted, want [461–479]", got)
	}
	if got := deletedUnarchivedCount(t, a); got != 19 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 19: 461–479, what this archiver's committed file lists as deleted", got)
	}
}

// TestDeletedCountedOnceOverARestart: an archiver commits a file that lists 400–419 as
// deleted, then finds 431–449 deleted too, its file open, and stops before committing
// it (a crash). The next run over the same lake resumes at 431, finds 431–449 deleted
// again and commits the file that lists them. Over both runs (increase() over the
// restart) each offset the lake lists as deleted counts once: 20 by the first run, 19
// by the second. Counted when found, the first run's counter read 39, and the sum 58.
func TestDeletedCountedOnceOverARestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := NewMemBucket()
	first := offlineArchiverOver(t, bkt)
	first.parts[0] = &partState{next: 400, refusedTo: -1, covered: -1}
	pollOnce(first, fetchOf(420, 430, 420, `{"n":1}`))
	first.sealAll()
	if err := first.flush(ctx); err != nil {
		t.Fatal(err)
	}
	pollOnce(first, fetchOf(450, 460, 450, `{"n":1}`)) // its file stays open: the run stops here

	next := offlineArchiverOver(t, bkt)
	m, _, err := next.store.latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := m.Partition(0)
	if !ok || s.Through() != 430 {
		t.Fatalf("after the first run the lake holds partition 0 as %+v, want it through 430", s)
	}
	st := &partState{next: -1, refusedTo: -1, covered: -1}
	st.resume(s)
	next.parts[0] = st
	pollOnce(next, fetchOf(450, 460, 450, `{"n":1}`))
	next.sealAll()
	if err := next.flush(ctx); err != nil {
		t.Fatal(err)
	}

	if got := committedDeleted(t, next); !slices.EqualFunc(got, []OffsetRange{{From: 400, To: 419}, {From: 431, To: 449}}, sameRanges) {
		t.Fatalf("the lake's files list %v as deleted, want [400–419 431–449]", got)
	}
	firstRun, nextRun := deletedUnarchivedCount(t, first), deletedUnarchivedCount(t, next)
	if firstRun != 20 || nextRun != 19 {
		t.Errorf("hindsight_lake_deleted_unarchived_total: first run %v, next run %v, want 20 and 19: each offset the lake lists as deleted, counted by the run that committed it", firstRun, nextRun)
	}
}
