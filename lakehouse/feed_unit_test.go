package lakehouse

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFeedKeepsOnlyBatchesTheArchiverCanTake: while the archiver reads a partition
// itself, the feed keeps a batch that starts within what that reading has covered and
// drops one beyond it on arrival (unused, with one gap item), leaving room for the
// others; a new assignment or the end of the reading keeps every batch again.
func TestFeedKeepsOnlyBatchesTheArchiverCanTake(t *testing.T) {
	recs := func(n int) []*kgo.Record { return make([]*kgo.Record, n) }
	type push struct {
		p    int32
		from int64
		n    int
	}
	for _, tc := range []struct {
		name        string
		setup       func(f *Feed)
		pushes      []push
		kinds       []feedKind // of the items queued, in order
		unused      int64
		dropped     int64
		feedRecords int
	}{
		{name: "not followed: every batch kept", pushes: []push{{0, 100, 5}, {0, 105, 5}},
			kinds: []feedKind{feedRecords, feedRecords}, feedRecords: 10},
		{name: "within the reading: kept", setup: func(f *Feed) { f.follow(0, 100) },
			pushes: []push{{0, 90, 5}, {0, 100, 5}}, kinds: []feedKind{feedRecords, feedRecords}, feedRecords: 10},
		{name: "beyond the reading: dropped, one gap item", setup: func(f *Feed) { f.follow(0, 100) },
			pushes: []push{{0, 101, 5}, {0, 106, 5}, {1, 50, 5}}, kinds: []feedKind{feedGap, feedRecords}, unused: 10, feedRecords: 5},
		{name: "position unknown or nothing read yet: dropped", setup: func(f *Feed) { f.follow(0, -1); f.follow(1, 10) },
			pushes: []push{{0, 0, 5}, {1, -1, 5}}, kinds: []feedKind{feedGap, feedGap}, unused: 10},
		{name: "the reading moved on", setup: func(f *Feed) { f.follow(0, 100); f.follow(0, 200) },
			pushes: []push{{0, 150, 5}}, kinds: []feedKind{feedRecords}, feedRecords: 5},
		{name: "unfollowed", setup: func(f *Feed) { f.follow(0, 100); f.unfollow(0) },
			pushes: []push{{0, 150, 5}}, kinds: []feedKind{feedRecords}, feedRecords: 5},
		{name: "assigned again", setup: func(f *Feed) { f.follow(0, 100); f.Resume(0, 150) },
			pushes: []push{{0, 150, 5}}, kinds: []feedKind{feedResume, feedRecords}, feedRecords: 5},
		{name: "full: dropped for room", setup: func(f *Feed) { f.follow(0, 200) },
			pushes: []push{{0, 100, 8}, {0, 108, 8}}, kinds: []feedKind{feedRecords, feedGap}, dropped: 8, feedRecords: 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFeed(10)
			if tc.setup != nil {
				tc.setup(f)
			}
			for _, p := range tc.pushes {
				f.Records(p.p, p.from, recs(p.n))
			}
			f.mu.Lock()
			queued := f.records
			f.mu.Unlock()
			var kinds []feedKind
			for _, it := range f.take(nil) {
				kinds = append(kinds, it.kind)
			}
			if len(kinds) != len(tc.kinds) {
				t.Fatalf("items %v, want %v", kinds, tc.kinds)
			}
			for i := range kinds {
				if kinds[i] != tc.kinds[i] {
					t.Fatalf("items %v, want %v", kinds, tc.kinds)
				}
			}
			if f.Unused() != tc.unused || f.Dropped() != tc.dropped || queued != tc.feedRecords {
				t.Errorf("unused %d, dropped %d, held %d records; want %d, %d, %d", f.Unused(), f.Dropped(), queued, tc.unused, tc.dropped, tc.feedRecords)
			}
		})
	}
}
