package lakehouse

import (
	"context"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDeletedRangeKeptOverASeekIsNotChargedAgain: this archiver's file of 400–450 is
// rejected (another writer archived the partition to 450 too), and meanwhile it found
// 451–479 deleted by Kafka's retention before it read them, its fetch from 480 holding
// only records live dead-letters (no file open, so the range waits in the partition's
// state). The seek resumes at 451 with no refused run known and drops the waiting
// range; the refetch starts at the log start, 480, and finds 451–479 deleted again, once:
// the next file lacks exactly that. Charged twice (when the seek kept the range, an
// unchargedFrom starting at its last offset charged 479 again), the next file lacked
// overlapping ranges, a file no manifest takes, and every commit after failed.
func TestDeletedRangeKeptOverASeekIsNotChargedAgain(t *testing.T) {
	t.Parallel()
	a := offlineArchiver(t)
	poll := func(fps ...kgo.FetchTopicPartition) { // what pollLoop does with one fetch
		a.append(fetchesOf(fps...), time.Now())
		a.applySeeks()
	}
	a.parts[0] = &partState{next: 400, refusedTo: -1, covered: -1}
	poll(fetchOf(400, 450, -1, `{"n":1}`))
	a.sealAll()
	mine := a.ready[0]
	mine.encoded = &pendingFile{entry: FileEntry{Path: "data/mine.parquet"}}
	t.Cleanup(func() { mine.release(); a.releaseAll() })

	poll(fetchOf(480, 490, 480, `{"n":`)) // refused: live dead-letters them
	sameRanges := func(x, y OffsetRange) bool { return x.From == y.From && x.To == y.To }
	if got := a.parts[0].deleted; !slices.EqualFunc(got, []OffsetRange{{From: 451, To: 479}}, sameRanges) {
		t.Fatalf("after the fetch from the new log start the partition waits to charge %v as deleted, want [451–479]", got)
	}

	rival := &Manifest{Topic: "events"}
	rival.setPartition(PartitionState{Partition: 0, Watermark: 450})
	if err := a.afterCommit(context.Background(), rival, []*batch{mine}, nil, []*batch{mine}, nil); err != nil {
		t.Fatal(err)
	}
	poll()                                // the seek
	poll(fetchOf(480, 490, 480, `{"n":`)) // read again from the log start
	poll(fetchOf(491, 495, 480, `{"n":1}`))

	var deleted []OffsetRange
	for _, b := range a.ready {
		deleted = append(deleted, b.deleted...)
	}
	if cur := a.parts[0].cur; cur != nil {
		deleted = append(deleted, cur.deleted...)
	}
	deleted = append(deleted, a.parts[0].deleted...)
	if !slices.EqualFunc(deleted, []OffsetRange{{From: 451, To: 479}}, sameRanges) {
		t.Errorf("the next file lacks %v as deleted by Kafka, want just [451–479]: 480 on were read", deleted)
	}
	// Found twice, counted once, when the file that lists them commits: the metric is of
	// records the lake lacks, not of finding them.
	if got := deletedUnarchivedCount(t, a); got != 0 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v before the next file commits, want 0", got)
	}
	a.sealAll()
	if err := a.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := deletedUnarchivedCount(t, a); got != 29 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 29 (451–479)", got)
	}
}

// deletedUnarchivedCount is a's hindsight_lake_deleted_unarchived_total of partition 0.
func deletedUnarchivedCount(t *testing.T, a *archiver) float64 {
	t.Helper()
	var m dto.Metric
	if err := a.met.deletedUnarchived.WithLabelValues("0").Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestSeekBelowAWaitingDeletedRangeChargesWhatTheRejectedFileHeld: this archiver's file
// of 400–450 is rejected because another writer archived the partition only to 440,
// and meanwhile it found 451–479 deleted by Kafka's retention, its fetch from 480
// holding only records live dead-letters (no file open, so the range waits in the
// partition's state). The seek resumes at 441; 441–450 were read, but only into the
// dropped file, and the log now starts at 480: they are gone from Kafka too, and the
// next file must say so. Kept over the seek, the waiting range had the refetch from the
// log start find no deletion below it, and the next file covered 441–450 as read,
// with no rows: readers of the lake were told no offset was missing there.
func TestSeekBelowAWaitingDeletedRangeChargesWhatTheRejectedFileHeld(t *testing.T) {
	t.Parallel()
	a := offlineArchiver(t)
	poll := func(fps ...kgo.FetchTopicPartition) { // what pollLoop does with one fetch
		a.append(fetchesOf(fps...), time.Now())
		a.applySeeks()
	}
	a.parts[0] = &partState{next: 400, refusedTo: -1, covered: -1}
	poll(fetchOf(400, 450, -1, `{"n":1}`))
	a.sealAll()
	mine := a.ready[0]
	mine.encoded = &pendingFile{entry: FileEntry{Path: "data/mine.parquet"}}
	a.ready = nil
	t.Cleanup(func() { mine.release(); a.releaseAll() })

	poll(fetchOf(480, 490, 480, `{"n":`)) // refused: live dead-letters them

	rival := &Manifest{Topic: "events"}
	rival.setPartition(PartitionState{Partition: 0, Watermark: 440})
	if err := a.afterCommit(context.Background(), rival, []*batch{mine}, nil, []*batch{mine}, nil); err != nil {
		t.Fatal(err)
	}
	poll()                                // the seek
	poll(fetchOf(480, 490, 480, `{"n":`)) // read again from the log start
	poll(fetchOf(491, 495, 480, `{"n":1}`))

	next := a.parts[0].cur
	if next == nil || len(a.ready) != 0 {
		t.Fatalf("after the refetch: open file %v, %d closed, want one file open", next, len(a.ready))
	}
	if next.start != 441 || next.last != 495 {
		t.Fatalf("the next file covers %d–%d, want 441–495 (from the other writer's watermark on)", next.start, next.last)
	}
	// Every offset the file covers was either read into it after the seek (480–495:
	// rows or refused records) or deleted by Kafka, never both, never neither.
	read := func(o int64) bool { return o >= 480 && o <= 495 }
	for o := next.start; o <= next.last; o++ {
		n := 0
		for _, d := range next.deleted {
			if o >= d.From && o <= d.To {
				n++
			}
		}
		if read(o) {
			n++
		}
		if n != 1 {
			t.Errorf("offset %d is accounted for %d times by the next file (deleted %v, read 480–495), want once", o, n, next.deleted)
		}
	}
	sameRanges := func(x, y OffsetRange) bool { return x.From == y.From && x.To == y.To }
	if !slices.EqualFunc(next.deleted, []OffsetRange{{From: 441, To: 479}}, sameRanges) {
		t.Errorf("the next file lacks %v as deleted by Kafka, want [441–479]", next.deleted)
	}
	// Counted when the file that lists them commits, each once: 451–479, found before
	// the seek and again after it, and 441–450.
	if got := deletedUnarchivedCount(t, a); got != 0 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v before the next file commits, want 0", got)
	}
	a.sealAll()
	if err := a.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := deletedUnarchivedCount(t, a); got != 39 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 39 (441–479)", got)
	}
}
