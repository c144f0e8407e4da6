package ingest

import (
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// manyHeaders is a record of n headers, each keyed by its index, which the broker takes
// (a header is 2 bytes on the wire plus its key), with a value that is not JSON.
func manyHeaders(n int) *kgo.Record {
	h := make([]kgo.RecordHeader, n)
	for i := range h {
		h[i].Key = strconv.Itoa(i)
	}
	return &kgo.Record{Topic: "events", Partition: 3, Offset: 42, Key: []byte("c"), Value: []byte(`{"x":`), Headers: h}
}

// TestCutDeadLetterManyHeaders: the dead letter of a record of 499,000 headers is cut
// to the bound by dropping the original's leading headers (all in one deletion: one at
// a time it took 6.4 s, BenchmarkCutDeadLetterManyHeaders), keeping the most of its last
// ones that fit, in order, then the dead-letter headers and the size before the cut.
func TestCutDeadLetterManyHeaders(t *testing.T) {
	t.Parallel() // CPU alone, on a record of its own: serial, every parallel test of the package waited for it
	const n, limit = 499_000, 10_000
	rec := DeadLetter(manyHeaders(n), "events.dlq", ReasonInvalidJSON, errors.New("unexpected end of JSON input"))
	ours := slices.Clone(rec.Headers[n:])
	before := RecordBytes(rec)
	if !CutDeadLetter(rec, limit) {
		t.Fatalf("a dead letter of %d bytes not cut to %d", before, limit)
	}
	if got := RecordBytes(rec); got > limit {
		t.Fatalf("cut to %d bytes, over the bound %d", got, limit)
	}
	if len(rec.Key) != 0 || len(rec.Value) != 0 {
		t.Errorf("key %q and value %q kept while headers were dropped: they go first", rec.Key, rec.Value)
	}
	kept := len(rec.Headers) - len(ours) - 1
	if kept <= 0 || kept >= n {
		t.Fatalf("%d of the original's %d headers kept, want some but not all", kept, n)
	}
	for i, h := range rec.Headers[:kept] {
		if want := strconv.Itoa(n - kept + i); h.Key != want {
			t.Fatalf("kept header %d is %q, want %q: the original's last headers, in order", i, h.Key, want)
		}
	}
	if !slices.EqualFunc(rec.Headers[kept:kept+len(ours)], ours, func(a, b kgo.RecordHeader) bool {
		return a.Key == b.Key && string(a.Value) == string(b.Value)
	}) {
		t.Errorf("the dead-letter headers were not kept as they were: %v, want %v", rec.Headers[kept:kept+len(ours)], ours)
	}
	if last := rec.Headers[len(rec.Headers)-1]; last.Key != HeaderOriginalBytes || string(last.Value) != strconv.Itoa(before) {
		t.Errorf("last header %s=%q, want %s=%d", last.Key, last.Value, HeaderOriginalBytes, before)
	}
	// One more of the original's headers back would be over the bound: no more were
	// dropped than needed.
	back := &kgo.Record{Headers: append([]kgo.RecordHeader{{Key: strconv.Itoa(n - kept - 1)}}, rec.Headers...)}
	if got := RecordBytes(back); got <= limit {
		t.Errorf("one more original header would still fit (%d bytes of %d): more were dropped than needed", got, limit)
	}
}

// BenchmarkCutDeadLetterManyHeaders cuts the dead letter of a record of 100,000
// headers to 10,000 bytes, dropping nearly all of them: linear in the headers, where
// deleting them one at a time moved the rest on each deletion.
func BenchmarkCutDeadLetterManyHeaders(b *testing.B) {
	dl := DeadLetter(manyHeaders(100_000), "events.dlq", ReasonInvalidJSON, errors.New("unexpected end of JSON input"))
	for b.Loop() {
		b.StopTimer()
		rec := *dl
		rec.Headers = slices.Clone(dl.Headers)
		b.StartTimer()
		CutDeadLetter(&rec, 10_000)
	}
}
