package lakehouse

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFeedKeepsOnlyBatchesTheArchiverCanTake: while the archiver reads a partition
// itself, the feed keeps a batch that starts within what that reading has covered and
// drops one beyond it on arrival (unused, with one gap item), leaving room for the
// others; a new assignment or the end of the reading keeps every batch again.
func TestFeedKeepsOnlyBatchesTheArchiverCanTake(t *testing.T) {
	t.Parallel()
	recs := emptyRecords
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
		{name: "a drop after a batch kept after a gap: a gap of its own", setup: func(f *Feed) { f.follow(0, 100) },
			pushes: []push{{0, 101, 5}, {0, 100, 3}, {0, 103, 5}}, kinds: []feedKind{feedGap, feedRecords, feedGap}, unused: 10, feedRecords: 3},
		{name: "from the log start: kept", setup: func(f *Feed) { f.follow(0, -1); f.follow(1, 10) },
			pushes: []push{{0, FromLogStart, 5}, {1, FromLogStart, 5}}, kinds: []feedKind{feedRecords, feedRecords}, feedRecords: 10},
		{name: "full: dropped for room", setup: func(f *Feed) { f.follow(0, 200) },
			pushes: []push{{0, 100, 8}, {0, 108, 8}}, kinds: []feedKind{feedRecords, feedGap}, dropped: 8, feedRecords: 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFeed(10, 0, nil)
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

// TestFeedWaitsForTheConsumer: a batch is taken only once the consumer has handled it
// (its notes complete), and nothing queued after it is taken before it, so the
// archiver sees the items in the order they came; the room a batch takes is given
// back when it is taken, and a drop after a gap item was taken queues a new one.
func TestFeedWaitsForTheConsumer(t *testing.T) {
	t.Parallel()
	recs := emptyRecords
	kinds := func(items []feedItem) (out []feedKind) {
		for _, it := range items {
			out = append(out, it.kind)
		}
		return out
	}
	held := func(f *Feed) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.records
	}
	f := NewFeed(10, 0, nil)
	a := f.Fetched(0, 100, -1, recs(4))
	if f.Fetched(0, 104, -1, recs(8)) != nil { // no room: dropped, a gap item after a
		t.Fatal("a batch past the feed's room was kept")
	}
	f.Fetched(0, 112, -1, recs(8)) // dropped too: the queued gap item says it
	b := f.Fetched(1, 0, -1, recs(2))
	if got := f.take(nil); len(got) != 0 {
		t.Fatalf("took %v before the first batch was handled", kinds(got))
	}
	b.Handled()
	if got := f.take(nil); len(got) != 0 {
		t.Fatalf("took %v ahead of a batch still being handled", kinds(got))
	}
	a.Handled()
	got := f.take(nil)
	if want := []feedKind{feedRecords, feedGap, feedRecords}; !slices.Equal(kinds(got), want) {
		t.Fatalf("took %v, want %v", kinds(got), want)
	}
	if got[0].notes != a || got[2].notes != b || got[1].p != 0 || got[1].at != 104 {
		t.Errorf("items out of order: %+v", got)
	}
	if n := held(f); n != 0 {
		t.Errorf("%d records held after everything was taken", n)
	}
	d := f.Fetched(1, 2, -1, recs(1))
	d.Handled()
	if f.Fetched(0, 120, -1, recs(10)) != nil {
		t.Fatal("a batch past the feed's room was kept")
	}
	c := f.Fetched(0, 130, -1, recs(3))
	// Dropped after c: a gap item of its own, since the archiver may take c as the
	// continuation that ends the reading the first gap starts.
	f.Fetched(0, 133, -1, recs(9))
	if got := kinds(f.take(nil)); !slices.Equal(got, []feedKind{feedRecords, feedGap}) {
		t.Fatalf("took %v, want [records gap]: what was queued before the pending batch", got)
	}
	if n := held(f); n != 3 {
		t.Errorf("%d records held, want the pending batch's 3", n)
	}
	c.Handled()
	if got := kinds(f.take(nil)); !slices.Equal(got, []feedKind{feedRecords, feedGap}) {
		t.Fatalf("took %v, want [records gap]", got)
	}
	if f.Dropped() != 8+8+10+9 {
		t.Errorf("dropped %d records, want %d", f.Dropped(), 8+8+10+9)
	}
	// An empty feed takes a batch larger than its limit: it would drop every batch
	// of a consumer whose fetches are larger.
	if f.Fetched(0, 142, -1, recs(11)) == nil {
		t.Error("an empty feed dropped a batch larger than its limit")
	}
}

// TestFeedWaitRoom: WaitRoom returns at once while the feed is empty or has room for
// a poll as large as the last (half its limit before the first), and otherwise waits
// until the archiver takes records, its patience runs out or ctx ends; after patience
// ran out it returns at once until the archiver takes records again (a stalled
// archiver holds the consumer back once).
func TestFeedWaitRoom(t *testing.T) {
	t.Parallel()
	recs := emptyRecords
	ctx := context.Background()
	f := NewFeed(10, 0, nil)
	if d := f.WaitRoom(ctx, time.Hour); d != 0 {
		t.Fatalf("waited %v on an empty feed", d)
	}
	a := f.Fetched(0, 0, -1, recs(5))
	if d := f.WaitRoom(ctx, time.Hour); d != 0 {
		t.Fatalf("waited %v with room for a poll of 5 records", d)
	}
	b := f.Fetched(0, 5, -1, recs(4))
	// The waiter times its own call: when it starts is the scheduler's business (under
	// -race on two busy cores it started 0.5ms into the 50ms below).
	type wait struct{ d, wall time.Duration }
	waited := make(chan wait)
	go func() {
		t0 := time.Now()
		d := f.WaitRoom(ctx, time.Hour)
		waited <- wait{d, time.Since(t0)}
	}()
	select {
	case w := <-waited:
		t.Fatalf("returned after %v with 9 of 10 records queued after a poll of 4", w.d)
	case <-time.After(50 * time.Millisecond):
	}
	a.Handled()
	b.Handled()
	f.take(nil)
	var total time.Duration
	select {
	case w := <-waited:
		if w.d > w.wall || w.d < w.wall*3/4 {
			t.Errorf("WaitRoom says it waited %v of the %v it took until the take", w.d, w.wall)
		}
		total += w.d
	case <-time.After(10 * time.Second):
		t.Fatal("the wait outlived the take that made room")
	}

	c := f.Fetched(0, 9, -1, recs(6))
	d := f.WaitRoom(ctx, 20*time.Millisecond)
	if d < 20*time.Millisecond {
		t.Errorf("patience of 20ms ran out after %v", d)
	}
	total += d
	if d := f.WaitRoom(ctx, time.Hour); d != 0 {
		t.Fatalf("waited %v again before the archiver took anything", d)
	}
	c.Handled()
	f.take(nil)
	e := f.Fetched(0, 15, -1, recs(6))
	cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	// WaitRoom times its wait from its own start, a moment after the context's 30ms
	// began (under -race on two busy cores, 0.5 to 2.5ms later): what tells that it
	// waited for the context is that it returned no earlier than the context's end.
	deadline, _ := cctx.Deadline()
	t0 := time.Now()
	if d = f.WaitRoom(cctx, time.Hour); time.Now().Before(deadline) || d <= 0 || d > time.Since(t0) {
		t.Errorf("waited %v (%v of the context's 30ms left when it returned), want until the context ended", d, time.Until(deadline))
	}
	total += d
	if f.Fetched(1, 0, -1, recs(6)) != nil {
		t.Error("a batch past the limit was kept after a wait that found no room")
	}
	e.Handled()
	f.take(nil)
	// A poll WaitRoom let in is kept whole, past the limit.
	if d := f.WaitRoom(ctx, time.Hour); d != 0 {
		t.Fatalf("waited %v on an empty feed", d)
	}
	if f.Fetched(0, 21, -1, recs(8)) == nil || f.Fetched(1, 6, -1, recs(8)) == nil {
		t.Error("a poll let in by WaitRoom was not kept whole")
	}
	if f.Waited() != total {
		t.Errorf("Waited() = %v, want the %v waited", f.Waited(), total)
	}
}

// TestFeedBatchHandledWhileTaken: the archiver may take and recycle a batch the moment
// Handled marks it ready, while Handled is still on its way out: Handled must not touch
// the batch after that. It once signalled through the batch's feed field, which the
// recycling had cleared (a nil dereference in the latency benchmark).
func TestFeedBatchHandledWhileTaken(t *testing.T) {
	t.Parallel()
	f := NewFeed(1<<20, 0, nil)
	recs := emptyRecords(4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var items []feedItem
		for taken := 0; taken < 20000; {
			items = f.take(items)
			for i := range items {
				items[i].notes.release()
				taken++
			}
		}
	}()
	for range 20000 {
		f.Fetched(0, 0, -1, recs).Handled()
	}
	<-done
}

// TestFeedBoundsBytes: records of 100 KB, far fewer than the feed's record limit. The
// feed held any number of bytes below that (16,384 events of a megabyte are 16 GB);
// past FeedBytes a batch is dropped, counted under that limit's name, WaitRoom waits
// for room for a poll of the last one's bytes, and a taken batch gives its bytes back.
func TestFeedBoundsBytes(t *testing.T) {
	t.Parallel()
	big := func(n int) []*kgo.Record {
		out := make([]*kgo.Record, n)
		for i := range out {
			out[i] = &kgo.Record{Key: []byte("c-1"), Value: make([]byte, 100_000)}
		}
		return out
	}
	var full []string
	f := NewFeed(10_000, 350_000, func(limit string) { full = append(full, limit) })
	a := f.Fetched(0, 0, -1, big(2))
	b := f.Fetched(0, 2, -1, big(1))
	if a == nil || b == nil {
		t.Fatal("batches within the byte limit were dropped")
	}
	// A record of headers alone weighs as much (the broker bounds the record, not its
	// parts): not counting them let a feed hold any number of such records.
	headers := []*kgo.Record{{Key: []byte("c-1"), Value: []byte("{}"), Headers: []kgo.RecordHeader{{Key: "trace", Value: make([]byte, 99_995)}}}}
	if f.Fetched(0, 3, -1, headers) != nil {
		t.Fatal("a batch of headers taking the feed to 400,012 bytes, past its 350,000, was kept")
	}
	if f.Dropped() != 1 || !slices.Equal(full, []string{FeedLimitBytes}) {
		t.Errorf("dropped %d records, full %q; want 1 for %s", f.Dropped(), full, FeedLimitBytes)
	}
	// Room for another poll of 3 such records (the last ones handed over) waits for a take.
	waited := make(chan time.Duration)
	go func() { waited <- f.WaitRoom(context.Background(), time.Hour) }()
	select {
	case d := <-waited:
		t.Fatalf("WaitRoom returned after %v with 300,009 of 350,000 bytes held", d)
	case <-time.After(50 * time.Millisecond):
	}
	a.Handled()
	b.Handled()
	f.take(nil)
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("the wait outlived the take that freed the bytes")
	}
	f.mu.Lock()
	held := f.bytes
	f.mu.Unlock()
	if held != 0 {
		t.Errorf("after every batch was taken the feed counts %d bytes held", held)
	}
}

// emptyRecords is n records without key or value, as a feed's tests hand it.
func emptyRecords(n int) []*kgo.Record {
	out := make([]*kgo.Record, n)
	for i := range out {
		out[i] = &kgo.Record{}
	}
	return out
}
