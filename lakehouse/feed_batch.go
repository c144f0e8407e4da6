package lakehouse

import (
	"math"
	"sync"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// FedBatch is what the consumer learned of a batch it handed to a Feed while it
// handled it (ingest.BatchTap): each record's verdict and, for an event, the values the
// archive's typed columns hold, read from the consumer's own parse. The archiver takes
// them instead of parsing the record a second time, which cost it as much CPU as the
// whole evaluation of one rule. A record the consumer did not reach (its handler
// stopped early) and a file typed under other paths than the batch (the rules changed
// in between) are parsed by the archiver as before, so the notes only ever save work.
//
// The consumer calls Accepted or Refused per record from the one goroutine handling
// the batch, then Handled; the archiver reads the notes only after Handled (under the
// feed's lock).
type FedBatch struct {
	feed  *Feed
	ready bool // Handled was called: feed.mu
	n     int  // records in the batch
	sized bool // the notes below hold n records (grow)
	// paths are the typed paths when the batch was fetched (nil: none typed).
	paths *typedPaths
	// verdicts per record: fedUnknown, fedAccepted or fedRefused; reasons holds the
	// refusals' dead-letter reasons.
	verdicts []uint8
	reasons  map[int]string
	// Per accepted record i and path j at i*len(paths)+j: the value's kind, and its
	// number's bits or its string's place in strs (start<<32 | length).
	kinds []int8
	vals  []uint64
	strs  []byte
	buf   []jsonpath.Value
	// counted is what Handled added to the feed's bytes for the notes (heldBytes),
	// which take subtracts: feed.mu.
	counted int64
}

const (
	fedUnknown uint8 = iota
	fedAccepted
	fedRefused
)

var fedBatches = sync.Pool{New: func() any { return new(FedBatch) }}

func newFedBatch(f *Feed, n int, paths *typedPaths) *FedBatch {
	b := fedBatches.Get().(*FedBatch)
	b.feed, b.n, b.paths = f, n, paths
	return b
}

// Accepted says record i is an event; doc is its parse, read now for the typed values.
func (b *FedBatch) Accepted(i int, doc *jsonpath.Document) {
	b.grow()
	b.verdicts[i] = fedAccepted
	if b.paths == nil {
		return
	}
	row := i * len(b.paths.paths)
	for j, p := range b.paths.paths {
		var kind int8
		var num float64
		var s string
		kind, num, s, b.buf = typedValue(p, doc, b.buf[:0])
		bits := math.Float64bits(num)
		if kind == TypedString {
			if uint64(len(b.strs)) >= 1<<32 || uint64(len(s)) >= 1<<32 {
				kind, bits = TypedUntyped, 0 // never in a fetch; kept exact all the same
			} else {
				bits = uint64(len(b.strs))<<32 | uint64(len(s))
				b.strs = append(b.strs, s...)
			}
		}
		b.kinds[row+j], b.vals[row+j] = kind, bits
	}
}

// Refused says record i is not an event, for reason (a verdict.Reason).
func (b *FedBatch) Refused(i int, reason string) {
	b.grow()
	b.verdicts[i] = fedRefused
	if b.reasons == nil {
		b.reasons = map[int]string{}
	}
	b.reasons[i] = reason
}

// Handled says the consumer is done with the batch: the archiver may take it — and
// recycle it — as soon as it is marked ready, so b is not touched after that.
func (b *FedBatch) Handled() {
	f := b.feed
	f.mu.Lock()
	b.ready = true
	b.counted = b.heldBytes()
	f.bytes += b.counted
	f.mu.Unlock()
	f.signal()
}

// heldBytes is the memory of the notes' typed values, which the feed holds with the
// records until its archiver takes them: per record and path a kind and a value
// (typedRowBytes), and the strings' copies. Uncounted, a batch of 1 KB events typed
// under 32 paths held 9 bytes per path and record and its strings on top of the
// bytes DefaultFeedBytes bounds (TestFeedBytesCountTypedNotes).
func (b *FedBatch) heldBytes() int64 {
	return int64(len(b.kinds))*typedRowBytes + int64(len(b.strs))
}

// typedRowBytes is what a record's typed path holds: its kind (int8) and its value
// (uint64: a number's bits or a string's place).
const typedRowBytes = 1 + 8

// grow sizes the notes for the batch on the first verdict, in the consumer's goroutine
// rather than the poll loop's.
func (b *FedBatch) grow() {
	if b.sized {
		return
	}
	b.sized = true
	b.verdicts = grown(b.verdicts, b.n)
	if b.paths != nil {
		cells := b.n * len(b.paths.paths)
		b.kinds = grown(b.kinds, cells)
		b.vals = grown(b.vals, cells)
	}
}

// grown returns s resized to n zeroed elements, reusing its array when it can.
func grown[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// verdict is record i's verdict as the consumer gave it: known is false when it gave
// none (b nil, or a record its handler did not reach).
func (b *FedBatch) verdict(i int) (reason string, known bool) {
	if b == nil || !b.sized {
		return "", false
	}
	switch b.verdicts[i] {
	case fedAccepted:
		return "", true
	case fedRefused:
		return b.reasons[i], true
	}
	return "", false
}

// typedAs says whether the batch's typed values are those of paths.
func (b *FedBatch) typedAs(paths *typedPaths) bool {
	return b != nil && b.paths == paths
}

// value is accepted record i's value of path j, as typedValue gives it.
func (b *FedBatch) value(i, j int) (kind int8, num float64, s []byte) {
	k := i*len(b.paths.paths) + j
	kind, bits := b.kinds[k], b.vals[k]
	if kind == TypedString {
		start, n := bits>>32, bits&(1<<32-1)
		return kind, 0, b.strs[start : start+n]
	}
	return kind, math.Float64frombits(bits), nil
}

// release returns the batch to its pool; it must not be used after.
func (b *FedBatch) release() {
	if b == nil {
		return
	}
	clear(b.reasons)
	strs := b.strs[:0]
	if cap(strs) > chunkSize {
		strs = nil // a batch of long strings: not kept for every later one
	}
	*b = FedBatch{verdicts: b.verdicts, reasons: b.reasons, kinds: b.kinds, vals: b.vals, strs: strs, buf: b.buf[:0]}
	fedBatches.Put(b)
}
