package lakehouse

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRejectedFileResumesPastTheOtherWritersEmptyRun: this archiver's file is
// rejected because another writer archived the partition up to 460 and recorded
// 461–470 as read and holding no event (EmptyAfter 10, Through 470). Kafka's retention
// then moves the log start to 480, so the next fetch starts there: only 471–479 were
// deleted before any archiver read them. The seek after the rejection resumed at the
// other writer's watermark+1 with nothing known read, and charged 461–479 to the next
// file as deleted (found by a review helper: the assignment paths resumed past the
// run, the seek did not).
func TestRejectedFileResumesPastTheOtherWritersEmptyRun(t *testing.T) {
	t.Parallel()
	a := offlineArchiver(t)
	fetch := func(from, to, logStart int64) kgo.Fetches { return fetchesOf(fetchOf(from, to, logStart, `{"n":1}`)) }
	poll := func(fs kgo.Fetches) { // what pollLoop does with one fetch
		a.append(fs, time.Now())
		a.applySeeks()
	}
	a.parts[0] = &partState{next: 400, refusedTo: -1, covered: -1}
	poll(fetch(400, 450, -1))
	a.sealAll()
	mine := a.ready[0]
	mine.encoded = &pendingFile{entry: FileEntry{Path: "data/mine.parquet"}}
	t.Cleanup(func() { mine.release(); a.releaseAll() })

	// The rival's manifest: partition 0 archived up to 460, then 461–470 held no event.
	rival := &Manifest{Topic: "events"}
	rival.setPartition(PartitionState{Partition: 0, Watermark: 460, EmptyAfter: 10})
	if err := a.afterCommit(context.Background(), rival, []*batch{mine}, nil, []*batch{mine}, nil); err != nil {
		t.Fatal(err)
	}
	poll(nil)                  // the seek
	poll(fetch(480, 490, 480)) // the log now starts at 480
	t.Logf("after the seek: next %d, refusedTo %d", a.parts[0].next, a.parts[0].refusedTo)

	var deleted []OffsetRange
	for _, b := range a.ready {
		deleted = append(deleted, b.deleted...)
	}
	if cur := a.parts[0].cur; cur != nil {
		deleted = append(deleted, cur.deleted...)
	}
	deleted = append(deleted, a.parts[0].deleted...)
	if !slices.EqualFunc(deleted, []OffsetRange{{From: 471, To: 479}}, func(x, y OffsetRange) bool { return x.From == y.From && x.To == y.To }) {
		t.Errorf("the next file lacks %v as deleted by Kafka, want [471–479]: 461–470 are the rival's recorded run that held no event", deleted)
	}
}
