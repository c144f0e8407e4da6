package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/window"
)

// MaxSnapshotBytesCap is the most Config.MaxSnapshotBytes may be: the largest block S2
// encodes (s2.Encode panics past it), a little under what a body's uint32 offsets
// address (TestSnapshotAtMaxBytesCapSeals).
const MaxSnapshotBytesCap = s2.MaxBlockSize

// A partition's state snapshot is what its evaluator would hold after evaluating every
// event below Next and nothing else: the rule versions it counts (each with its start
// offset and whether its history is still being backfilled) and every (customer, rule)
// counter. Restoring it and consuming from Next reproduces the state exactly.
//
// Encoding, version 8 (integers are varints unless sized; strings are a uvarint length
// and the bytes):
//
//	"HSPS" | version uint16 LE | compression byte (1 = S2) | 0 | body | crc32c LE
//
// The CRC (Castagnoli) covers everything before it. The body, once decompressed:
//
//	topic, group, partition, next, written_at (unix ns), controls (the offset of the
//	  last control the rule set the partition had adopted folded; -1: none), topic id
//	  (16 bytes, Kafka's id of the events topic the partition's events came from; zeros:
//	  unknown)
//	rule count, then per rule: scope, id, version, control offset, fingerprint uint64 LE,
//	  start, flags (bit 0: pending backfill; bit 1: incomplete history follows; bit 2:
//	  window state follows; bit 3: refused matches follow; bit 4: the pending hand-off
//	  of a windowed rule is not a recount; bits 5 to 7 are never set, and a body
//	  holding one is corrupt), with bit 1: range count,
//	  then per range: from, to, reason; with bit 2: the length and bytes of the rule's
//	  window.State encoding; with bit 3: the matches not counted at --max-counters
//	customer count, counter count, then per customer: name, counter count, then per
//	  counter: rule index, count
//
// Version 7 is version 8 without bit 4: a state with no windowed hand-off pending that
// is not a recount is written as version 7 (or 6), so that a build before version 8
// still restores it, and a pending hand-off without bit 4, of any version, is taken for
// a recount (restore.go). Version 6 is version 7 without bit 3; a state that refused
// nothing is written as version 6, so that a build before version 7 still restores it.
// Version 5 is version 6 without the topic id (read as unknown). Version 4 is version 5
// without controls (read as unknown: endedreplay.go then
// replays no version the snapshot does not name). Version 3 is version 4 whose window states have neither the lifecycle nor the
// samples section (window.State.AppendTo's flags bits 1 and 2), version 2 is version 3
// without bit 2 (no rule had windows, groups or another aggregate) and version 1 is
// version 2 without bit 1 (no history was ever marked incomplete); this build reads all
// eight, so that a build that cannot read a newer section says so (ErrStateVersion)
// instead of misreading it.
//
// S2 (klauspost/compress/s2) rather than zstd: on a 10M-counter state it compresses
// twice as fast and decompresses three times as fast, for about twice the size (still
// single-digit bytes per counter), and a snapshot is written every SnapshotInterval.
//
// A rule is matched to the active rules on restore by (scope, id, control offset,
// fingerprint): the same rule text made active by the same control record.
const (
	stateMagic   = "HSPS"
	stateVersion = 8
	// stateVersionV1 to V7 are still read: they lack only whether a pending hand-off is
	// a recount, the refused matches, the topic id, the controls offset, the incomplete-history ranges, the window states
	// and those states' lifecycle and samples.
	stateVersionV1 = 1
	stateVersionV2 = 2
	stateVersionV3 = 3
	stateVersionV4 = 4
	stateVersionV5 = 5
	stateVersionV6 = 6
	stateVersionV7 = 7

	stateCompressionS2  = 1
	stateHeaderLen      = 8
	stateTrailerLen     = 4
	statePendingFlag    = 1
	stateIncompleteFlag = 2
	stateWindowFlag     = 4
	stateRefusedFlag    = 8
	stateNotRecountFlag = 16
)

// Sentinel errors of snapshot decoding; callers try an older snapshot on either.
var (
	// ErrStateVersion: the snapshot was written in an encoding this build does not read.
	ErrStateVersion = errors.New("live: unsupported snapshot encoding version")
	// ErrStateCorrupt: the snapshot is truncated, altered or not a snapshot at all.
	ErrStateCorrupt = errors.New("live: corrupt snapshot")
	// ErrSnapshotTooLarge: the snapshot's body is, or claims to be, larger than
	// Config.MaxSnapshotBytes. A restore refuses it before allocating the body; a
	// partition whose state encodes larger stores no snapshot, rather than one its
	// next restore would refuse.
	ErrSnapshotTooLarge = errors.New("live: snapshot above --max-snapshot-bytes")
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// snapshotSizeError is ErrSnapshotTooLarge of a snapshot read at restore, with the
// --max-snapshot-bytes it would need (at least): a partition whose snapshots are all
// refused, one for this, is held, not started empty (heldPartition), and says what
// limit restores it.
type snapshotSizeError struct {
	needed int64
	msg    string
}

func (e *snapshotSizeError) Error() string { return e.msg }
func (e *snapshotSizeError) Unwrap() error { return ErrSnapshotTooLarge }

// stateHeader is a snapshot's metadata and rule table.
type stateHeader struct {
	Topic     string
	Group     string
	Partition int32
	Next      int64
	WrittenAt time.Time
	// Controls is the offset of the last control folded into the rule set the
	// partition had adopted (-1: none), if ControlsKnown (a snapshot of version 4 or
	// before does not say): the versions ended by later controls may have run on the
	// partition after the snapshot without its naming them.
	Controls      int64
	ControlsKnown bool
	// TopicID is Kafka's id of the events topic whose log the state counts (zeros:
	// unknown, or a snapshot of version 5 or before): a topic deleted and made again
	// has another, and its log's offsets are not the snapshot's.
	TopicID   [16]byte
	Rules     []stateRule
	Customers int
	Counters  int
}

type stateRule struct {
	Scope, ID     string
	Version       int64
	ControlOffset int64
	Fingerprint   uint64
	Start         int64
	Pending       bool
	// Recount (read for a windowed rule): the pending hand-off rebuilds a version
	// that may have run on the partition before the process that took the snapshot
	// resumed it (handoff.go, pendingBackfill.recount), so that its start is not where
	// the version's alerts began. A snapshot before version 8 does not say, and its
	// pending hand-offs are taken for recounts.
	Recount bool
	// Incomplete is the history below Start its finished backfill could not read.
	Incomplete []contract.MissingRange
	// Window is the rule's window.State encoding (nil for a plain count); it aliases
	// the body.
	Window []byte
	// Refused counts the matches not counted at --max-counters (partition.refused).
	Refused int64
}

type stateCount struct {
	Rule uint32
	N    int64
}

// stateWriter builds a snapshot body; the partition's worker is stopped (its lock is
// held) only while the body is appended, not while it is compressed or stored.
type stateWriter struct {
	b []byte
}

func (w *stateWriter) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *stateWriter) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *stateWriter) str(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// encodeState appends p's state to a fresh body, all of it under p.mu, which the
// caller holds (tests; snapshots use beginState, which holds it for a memory copy).
func (p *partition) encodeState(topic, group string, now time.Time) (body []byte, counters int) {
	enc := p.beginState(topic, group, now, &stateBuffers{}, nil)
	body, counters = enc.finish()
	p.counts.thaw()
	return body, counters
}

// stateBuffers are a snapshot encoding's buffers, kept by a partition for its next:
// its snapshots are much alike in size, and fresh buffers of hundreds of megabytes cost
// their first touch (zeroing, page faults) every time, under the partition's lock for
// the window states' copies.
type stateBuffers struct {
	head, body []byte
	windows    []*window.Frozen
}

// stateEncoding is a snapshot body under way: its head (the rules) is written with a
// gap where each window state goes, the window states are frozen copies, and the
// counters a frozen view of the partition's store.
type stateEncoding struct {
	w       stateWriter // the head
	bufs    *stateBuffers
	windows []frozenAt
	view    counterView
	index   []uint32 // index[rule seq] is the rule's position in the head's table + 1
	maxID   uint32
	// version is the encoding the body needs: stateVersionV6 unless a rule refused
	// matches (7) or holds a windowed hand-off pending that is not a recount (8).
	version uint16
}

// frozenAt is a window state to encode, length-prefixed, at offset at of the head.
type frozenAt struct {
	at int
	f  *window.Frozen
}

// beginState writes the head of p's state, into bufs, and freezes its window states and
// counters. The caller holds p.mu, and calls p.counts.thaw under it once finish has
// returned; finish needs no lock. current is the daemon's rule set, whose controls
// offset a partition that adopted none records (nil: -1).
func (p *partition) beginState(topic, group string, now time.Time, bufs *stateBuffers, current *activeSet) *stateEncoding {
	rules := make([]*controls.Version, 0, len(p.starts))
	var maxID uint32
	for ar := range p.starts {
		rules = append(rules, ar)
		maxID = max(maxID, ar.Seq)
	}
	// index[id] is the rule's position in the snapshot's table + 1 (0: not in p.starts).
	// Every counter belongs to a rule in p.starts (reconcile drops the others); skipping
	// others keeps the encoding consistent even if that ever stopped being true.
	index := make([]uint32, maxID+1)
	for i, ar := range rules {
		index[ar.Seq] = uint32(i + 1)
	}
	w := stateWriter{b: slices.Grow(bufs.head[:0], 64+len(rules)*64)}
	var windows []frozenAt
	version := uint16(stateVersionV6)
	w.str(topic)
	w.str(group)
	w.varint(int64(p.id))
	w.varint(p.next)
	w.varint(now.UnixNano())
	controls := int64(-1)
	switch {
	case p.active != nil:
		controls = p.active.controls.Load()
	case current != nil:
		// Nothing adopted yet: the first set adopted will be this one or a later one.
		controls = current.controls.Load()
	}
	w.varint(controls)
	w.b = append(w.b, p.topicID[:]...)
	w.uvarint(uint64(len(rules)))
	for _, ar := range rules {
		r := ar.Rule
		w.str(r.Scope)
		w.str(r.ID)
		w.varint(r.Version)
		w.varint(ar.ControlOffset)
		w.b = binary.LittleEndian.AppendUint64(w.b, ar.Fingerprint)
		w.varint(p.starts[ar])
		var flags byte
		if pb := p.pending[ar]; pb != nil {
			flags |= statePendingFlag
			// Only a windowed hand-off's restore and ended replay read it (restore.go),
			// and only "not a recount" needs saying: a flag a version 7 state lacks
			// keeps that state readable by the builds before.
			if !pb.recount && !ar.Rule.Plain() {
				flags |= stateNotRecountFlag
				version = stateVersion
			}
		}
		missing := p.incomplete[ar]
		if len(missing) > 0 {
			flags |= stateIncompleteFlag
		}
		ws := p.windows[ar]
		if ws != nil {
			flags |= stateWindowFlag
		}
		refused := p.refused[ar]
		if refused > 0 {
			flags |= stateRefusedFlag
			version = max(version, stateVersionV7)
		}
		w.b = append(w.b, flags)
		if len(missing) > 0 {
			w.uvarint(uint64(len(missing)))
			for _, m := range missing {
				w.varint(m.From)
				w.varint(m.To)
				w.str(m.Reason)
			}
		}
		if ws != nil {
			// A copy, encoded by finish: a memory copy is the partition's only wait
			// (0.24 ms for 100,000 groups, where encoding took 4 ms).
			if len(windows) == len(bufs.windows) {
				bufs.windows = append(bufs.windows, new(window.Frozen))
			}
			f := bufs.windows[len(windows)]
			ws.Freeze(f)
			windows = append(windows, frozenAt{at: len(w.b), f: f})
		}
		if refused > 0 {
			w.varint(refused)
		}
	}
	return &stateEncoding{w: w, bufs: bufs, windows: windows, view: p.counts.freeze(), index: index, maxID: maxID, version: version}
}

// finish appends the frozen counters and returns the body and how many counters it
// holds.
func (e *stateEncoding) finish() (body []byte, counters int) {
	head := e.w.b
	e.bufs.head = head[:0]
	// The head, each window state (length-prefixed, so that a reader needs the rule
	// only to decode it) in its gap.
	b, from := e.bufs.body[:0], 0
	for _, wa := range e.windows {
		b = append(b, head[from:wa.at]...)
		d := wa.f.Draft()
		b = binary.AppendUvarint(b, uint64(d.Len()))
		b = d.AppendTo(b)
		from = wa.at
	}
	e.w.b = append(b, head[from:]...)
	// Copies of states the partition no longer has go (a rule deleted, say); the
	// others are kept for the next snapshot.
	clear(e.bufs.windows[len(e.windows):])
	e.bufs.windows = e.bufs.windows[:len(e.windows)]
	v := &e.view
	indexed := func(id uint32) bool { return id <= e.maxID && e.index[id] != 0 }
	perCustomer := func(head int32) (n int) {
		for j := head; j >= 0; j = v.cells.at(int(j)).next {
			if indexed(v.cells.at(int(j)).rule) {
				n++
			}
		}
		return n
	}
	customers := 0
	for ci := range v.custs.len() {
		if n := perCustomer(v.custs.at(ci).head); n > 0 {
			customers++
			counters += n
		}
	}
	// Sized for the common case (short names, small counts) to avoid regrowth.
	w := &e.w
	w.b = slices.Grow(w.b, 16+v.names.size()+customers*4+counters*4)
	w.uvarint(uint64(customers))
	w.uvarint(uint64(counters))
	for ci := range v.custs.len() {
		c := v.custs.at(ci)
		n := perCustomer(c.head)
		if n == 0 {
			continue
		}
		w.uvarint(uint64(c.len))
		w.b = append(w.b, v.names.at(c.off, c.len)...)
		w.uvarint(uint64(n))
		for j := c.head; j >= 0; j = v.cells.at(int(j)).next {
			if cell := v.cells.at(int(j)); indexed(cell.rule) {
				w.uvarint(uint64(e.index[cell.rule] - 1))
				w.uvarint(uint64(cell.n))
			}
		}
	}
	return w.b, counters
}

// sealState compresses a body of encoding version and frames it, in dst (which may be
// nil).
func sealState(dst, body []byte, version uint16) []byte {
	out := slices.Grow(dst[:0], stateHeaderLen+s2.MaxEncodedLen(len(body))+stateTrailerLen)
	out = out[:stateHeaderLen+s2.MaxEncodedLen(len(body))+stateTrailerLen]
	copy(out, stateMagic)
	binary.LittleEndian.PutUint16(out[4:], version)
	out[6] = stateCompressionS2
	n := len(s2.Encode(out[stateHeaderLen:], body))
	out = out[:stateHeaderLen+n]
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, crcTable))
}

// openState checks a snapshot's frame and returns its decompressed body and encoding
// version. The frame (magic, version, CRC-32C trailer) is the same in every encoding
// version, so the checksum is checked before the version is read: read first, a bit
// flipped in the version sent operators looking for a newer build, and a file cut
// short was called no snapshot at all. A body claiming more than maxBytes is refused
// before it is allocated.
func openState(data []byte, maxBytes int64) ([]byte, uint16, error) {
	if len(data) < len(stateMagic) || string(data[:len(stateMagic)]) != stateMagic {
		return nil, 0, fmt.Errorf("%w: not a Hindsight partition snapshot (bad magic)", ErrStateCorrupt)
	}
	if len(data) < stateHeaderLen+stateTrailerLen {
		return nil, 0, fmt.Errorf("%w: truncated (%d bytes, a snapshot has at least %d): the write was cut short or the file damaged", ErrStateCorrupt, len(data), stateHeaderLen+stateTrailerLen)
	}
	n := len(data) - stateTrailerLen
	if got, want := crc32.Checksum(data[:n], crcTable), binary.LittleEndian.Uint32(data[n:]); got != want {
		return nil, 0, fmt.Errorf("%w: checksum mismatch (%08x, recorded %08x): the file is damaged or cut short", ErrStateCorrupt, got, want)
	}
	version := binary.LittleEndian.Uint16(data[4:])
	if version < stateVersionV1 || version > stateVersion {
		return nil, 0, fmt.Errorf("%w: the snapshot has encoding version %d; this build reads versions %d to %d only (restore it with a build that reads it, or delete it to recount from history)", ErrStateVersion, version, stateVersionV1, stateVersion)
	}
	if data[6] != stateCompressionS2 {
		return nil, 0, fmt.Errorf("%w: unknown compression %d", ErrStateCorrupt, data[6])
	}
	// S2 allocates the size the block's header claims before it decodes a byte, and
	// the checksum vouches for nothing: whoever can write the state bucket can make it
	// valid again. So the claim is held to a flag, not to what the file holds: a bound
	// by the stored size (64 times it) refused snapshots this process wrote, of long
	// customer ids alike but for their ends (168 to 1, a review found), and their
	// partitions were counted again.
	size, err := s2.DecodedLen(data[stateHeaderLen:n])
	if err != nil {
		return nil, 0, fmt.Errorf("%w: reading the decompressed size: %v", ErrStateCorrupt, err)
	}
	if int64(size) > maxBytes {
		return nil, 0, &snapshotSizeError{needed: int64(size), msg: fmt.Sprintf("%s: a %d-byte snapshot claims %d bytes decompressed, above the limit of %d (--max-snapshot-bytes): damaged, crafted, or written under a larger limit (restore it with that limit)",
			ErrSnapshotTooLarge, len(data), size, maxBytes)}
	}
	body, err := s2.Decode(nil, data[stateHeaderLen:n])
	if err != nil {
		return nil, 0, fmt.Errorf("%w: decompressing: %v", ErrStateCorrupt, err)
	}
	return body, version, nil
}

// stateReader decodes a body. Its first error sticks; every read after it returns zero.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated or malformed %s", ErrStateCorrupt, what)
	}
	r.b = nil
}

func (r *stateReader) uvarint(what string) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) varint(what string) int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) bytes(what string) []byte {
	n := r.uvarint(what)
	if n > uint64(len(r.b)) {
		r.fail(what)
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *stateReader) str(what string) string { return string(r.bytes(what)) }

// count reads a count of items of at least minBytes each, refusing counts the remaining
// bytes cannot hold (so a corrupt count cannot make the reader allocate wildly).
func (r *stateReader) count(what string, minBytes int) int {
	n := r.uvarint(what)
	if n > uint64(len(r.b)/minBytes) || n > math.MaxInt32 {
		r.fail(what)
		return 0
	}
	return int(n)
}

// decodeState reads a body of encoding version (openState) version: its header and
// rule table, then calls fn once per customer with its counters (the name aliases
// body; the counters slice is reused between calls).
func decodeState(body []byte, version uint16, fn func(h *stateHeader) (func(customer []byte, counts []stateCount), error)) (*stateHeader, error) {
	r := &stateReader{b: body}
	h := &stateHeader{}
	h.Topic = r.str("topic")
	h.Group = r.str("group")
	p := r.varint("partition")
	if p < 0 || p > math.MaxInt32 {
		r.fail("partition")
	}
	h.Partition = int32(p)
	h.Next = r.varint("next offset")
	h.WrittenAt = time.Unix(0, r.varint("write time")).UTC()
	h.Controls = -1
	if h.ControlsKnown = version >= stateVersionV5; h.ControlsKnown {
		h.Controls = r.varint("controls offset")
	}
	if version >= stateVersionV6 {
		if len(r.b) < len(h.TopicID) {
			r.fail("topic id")
		} else {
			copy(h.TopicID[:], r.b)
			r.b = r.b[len(h.TopicID):]
		}
	}
	nr := r.count("rule count", 13)
	h.Rules = make([]stateRule, 0, nr)
	for range nr {
		var sr stateRule
		sr.Scope = r.str("rule scope")
		sr.ID = r.str("rule id")
		sr.Version = r.varint("rule version")
		sr.ControlOffset = r.varint("rule control offset")
		if len(r.b) < 8 {
			r.fail("rule fingerprint")
			break
		}
		sr.Fingerprint = binary.LittleEndian.Uint64(r.b)
		r.b = r.b[8:]
		sr.Start = r.varint("rule start")
		if len(r.b) < 1 {
			r.fail("rule flags")
			break
		}
		sr.Pending = r.b[0]&statePendingFlag != 0
		incomplete := r.b[0]&stateIncompleteFlag != 0
		windowed := r.b[0]&stateWindowFlag != 0
		refused := r.b[0]&stateRefusedFlag != 0
		notRecount := r.b[0]&stateNotRecountFlag != 0
		// A bit no build writes is no bit to ignore: the bytes after it would be read
		// as if it meant nothing.
		unknown := r.b[0]&^(statePendingFlag|stateIncompleteFlag|stateWindowFlag|stateRefusedFlag|stateNotRecountFlag) != 0
		if unknown || refused && version < stateVersionV7 || notRecount && (version < stateVersion || !sr.Pending) {
			r.fail("rule flags")
			break
		}
		sr.Recount = sr.Pending && !notRecount
		r.b = r.b[1:]
		if incomplete {
			n := r.count("incomplete range count", 3)
			for range n {
				m := contract.MissingRange{Partition: h.Partition, From: r.varint("incomplete range start"), To: r.varint("incomplete range end")}
				m.Reason = r.str("incomplete range reason")
				sr.Incomplete = append(sr.Incomplete, m)
			}
		}
		if windowed {
			sr.Window = r.bytes("window state")
		}
		if refused {
			if sr.Refused = r.varint("refused matches"); sr.Refused <= 0 {
				r.fail("refused matches")
			}
		}
		h.Rules = append(h.Rules, sr)
	}
	h.Customers = r.count("customer count", 2)
	h.Counters = r.count("counter count", 2)
	if r.err != nil {
		return nil, r.err
	}
	each, err := fn(h)
	if err != nil {
		return nil, err
	}
	var counts []stateCount
	total := 0
	for range h.Customers {
		name := r.bytes("customer")
		k := r.count("customer's counter count", 2)
		counts = counts[:0]
		for range k {
			idx := r.uvarint("counter rule")
			n := r.uvarint("counter value")
			if idx >= uint64(len(h.Rules)) || n > math.MaxInt64 {
				r.fail("counter")
			}
			counts = append(counts, stateCount{Rule: uint32(idx), N: int64(n)})
		}
		if r.err != nil {
			return nil, r.err
		}
		total += k
		each(name, counts)
	}
	if total != h.Counters || len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d counters and %d trailing bytes where the header says %d and 0", ErrStateCorrupt, total, len(r.b), h.Counters)
	}
	return h, nil
}
