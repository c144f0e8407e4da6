package lakehouse

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// TestFeedBytesCountTypedNotes: the feed's byte limit counts, once a batch is handled,
// the typed values the consumer noted of its records (9 bytes per record and path, and
// a copy of each typed string), which it holds with them until the archiver takes the
// batch: a batch whose records fit the limit but whose notes do not leaves no room for
// the next, and taking it frees that room.
func TestFeedBytesCountTypedNotes(t *testing.T) {
	t.Parallel()
	cols := NewColumnSet(2)
	if err := cols.Set([]string{"$.s", "$.n"}); err != nil {
		t.Fatal(err)
	}
	value := []byte(`{"s":"` + strings.Repeat("x", 1000) + `","n":1}`)
	const n = 100
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Value: value, Offset: int64(i)}
	}
	size := int64(n * len(value))
	notes := int64(n*2*typedRowBytes + n*1000)
	// Room for two batches' records, not for two with their notes.
	f := NewFeed(1<<20, 2*size+notes/2, nil)
	f.columns.Store(cols)
	b := f.Fetched(0, 0, -1, recs)
	if b == nil {
		t.Fatal("the empty feed dropped the first batch")
	}
	doc := jsonpath.NewDocument()
	for i, r := range recs {
		if err := doc.Reset(r.Value); err != nil {
			t.Fatal(err)
		}
		b.Accepted(i, doc)
	}
	b.Handled()
	if got, want := f.bytes, size+notes; got != want {
		t.Errorf("the feed counts %d bytes for a handled batch of %d bytes of records and %d of typed notes, want %d", got, size, notes, want)
	}
	if f.Fetched(0, n, -1, recs) != nil {
		t.Errorf("a second batch was kept: the feed holds %d bytes of its limit %d, and the first batch's notes were not counted", f.bytes, f.limitBytes)
	}
	if got := f.Dropped(); got != n {
		t.Errorf("dropped %d records, want %d", got, n)
	}
	for _, it := range f.take(nil) {
		it.notes.release()
	}
	if f.bytes != 0 {
		t.Errorf("the feed counts %d bytes once its batches are taken, want 0", f.bytes)
	}
}
