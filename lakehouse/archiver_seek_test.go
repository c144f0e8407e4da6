package lakehouse

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRejectedFileResumesWithoutAGap: another writer archived past this archiver's
// file, so the file is rejected and the archiver resumes after that writer's
// watermark. A fetch already in hand from the old position (offsets beyond the new
// start) must not open the file at the new start: that file would claim the offsets
// between without their rows, and the lake would lose them for good. Seen as
// "3 produced offsets missing from the lake" in TestLostCommitReplies under load.
func TestRejectedFileResumesWithoutAGap(t *testing.T) {
	t.Parallel()
	a := offlineArchiver(t)
	fetch := func(from, to int64) kgo.Fetches { return fetchesOf(fetchOf(from, to, -1, `{"n":1}`)) }
	poll := func(fs kgo.Fetches) { // what pollLoop does with one fetch
		a.append(fs, time.Now())
		a.applySeeks()
	}
	a.parts[0] = &partState{next: 400, refusedTo: -1}
	poll(fetch(400, 500))
	a.sealAll()
	mine := a.ready[0]
	mine.encoded = &pendingFile{entry: FileEntry{Path: "data/mine.parquet"}}
	t.Cleanup(func() { mine.release(); a.releaseAll() }) // as flush and the archiver's exit do

	// The rival's manifest: partition 0 archived up to 460.
	rival := &Manifest{Topic: "events"}
	rival.setPartition(PartitionState{Partition: 0, Watermark: 460})
	if err := a.afterCommit(context.Background(), rival, []*batch{mine}, nil, []*batch{mine}, nil); err != nil {
		t.Fatal(err)
	}
	poll(fetch(501, 550)) // in hand before the seek to 461
	poll(fetch(461, 520)) // after it

	files := append([]*batch(nil), a.ready...)
	if cur := a.parts[0].cur; cur != nil {
		files = append(files, cur)
	}
	for _, b := range files {
		if b.len() == 0 {
			continue
		}
		if b.offsets[0] != b.start {
			t.Errorf("a file covers offsets %d–%d but its first row is at %d: %d–%d would be archived as nothing",
				b.start, b.last, b.offsets[0], b.start, b.offsets[0]-1)
		}
		for i := 1; i < b.len(); i++ {
			if b.offsets[i] != b.offsets[i-1]+1 {
				t.Errorf("a file's rows skip from %d to %d", b.offsets[i-1], b.offsets[i])
				break
			}
		}
	}
	if got := a.parts[0].next; got != 521 {
		t.Errorf("resumes at %d after the fetch from the new position, want 521", got)
	}
}
