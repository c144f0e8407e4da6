package lakehouse

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDeletedRangeKeptOverASeekIsNotChargedAgain: this archiver's file of 400–450 is
// rejected (another writer archived the partition to 450 too), and meanwhile it found
// 451–479 deleted by Kafka's retention before it read them, its fetch from 480 holding
// only records live dead-letters (no file open, so the range waits in the partition's
// state). The seek keeps that range and resumes at 451 with no refused run known; the
// refetch starts at the log start, 480, right after the range. That is no new deletion:
// the range ends at 479, so the first offset still to be charged is 480. Charging 479
// again made the next file lack it twice (overlapping deleted ranges), a file no
// manifest takes, and every commit after failed.
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
}
