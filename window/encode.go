package window

import (
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/hindsightdev/hindsight/rule"
)

// ErrCorrupt is returned by Decode for bytes AppendTo did not write.
var ErrCorrupt = errors.New("window: corrupt state")

// AppendTo appends the state's encoding, for snapshots (docs/architecture.md, "Snapshot
// format"): flags (bit 0: an event time was seen), the newest event time, the Stats,
// then per group its id, split and windows (start, count, value bits, flags, and for
// count_distinct its values). Groups and windows are written in a deterministic order.
// It freezes the state and encodes the copy (Freeze, Frozen.Draft), the one way there is.
func (s *State) AppendTo(b []byte) []byte {
	var f Frozen
	s.Freeze(&f)
	return f.Draft().AppendTo(b)
}

// Draft is a state's encoding with its groups in slot order: Frozen.Draft writes it in
// one pass over the frozen records, and Draft.AppendTo puts the groups in AppendTo's
// order (by id). Sorting, and walking the records in id order, which jumps about them,
// were a third of an encoding's time. A Draft shares no memory with its state.
type Draft struct {
	head    []byte // flags, newest event time, stats, group count
	groups  []byte // each group's part (id, split, windows), in slot order
	ends    []int  // where each group's part ends in groups
	life    []byte // the lifecycle section, if the flags say so
	samples []byte // each group's part of the samples section, in slot order
	sends   []int  // where each ends in samples
	order   []int32
}

// Len is the length of the draft's encoding.
func (d *Draft) Len() int {
	n := len(d.head) + len(d.groups) + len(d.life)
	if d.head[0]&flagSamples != 0 {
		n += len(d.samples)
	}
	return n
}

// draftHead writes d's head, all but its samples flag, and its lifecycle section.
func (s *State) draftHead(d *Draft) {
	var flags byte
	if s.seen {
		flags = 1
	}
	life := s.life != nil && (len(s.life.open) > 0 || s.stats.Suppressed > 0 || s.stats.IncidentsDropped > 0)
	if life {
		flags |= flagLifecycle
		for _, in := range s.life.open {
			if in.silent {
				flags |= flagSilent
				break
			}
		}
	}
	if s.stats.KeysTooLong > 0 {
		flags |= flagKeysTooLong
	}
	b := append(d.head[:0], flags)
	b = binary.AppendVarint(b, s.maxTime)
	for _, n := range []uint64{s.stats.Late, s.stats.TimeErrors, s.stats.GroupsDropped, s.stats.DistinctDropped, s.stats.Overflows} {
		b = binary.AppendUvarint(b, n)
	}
	if flags&flagKeysTooLong != 0 {
		b = binary.AppendUvarint(b, s.stats.KeysTooLong)
	}
	d.head = binary.AppendUvarint(b, uint64(s.live))
	d.life = d.life[:0]
	if life {
		d.life = s.appendLifecycle(d.life, flags&flagSilent != 0)
	}
}

// draftGroups writes the groups' parts and their samples into d, and sets the samples
// flag in its head; s is a Frozen's shell.
func (s *State) draftGroups(d *Draft) {
	// Sized up front: a fresh draft would otherwise grow each slice a dozen times.
	g, ends := slices.Grow(d.groups[:0], len(s.ids)-s.idGarbage+s.live*16), slices.Grow(d.ends[:0], s.live)
	sm, sends := slices.Grow(d.samples[:0], s.live*8), slices.Grow(d.sends[:0], s.live)
	samples := false
	// Over the slab's pages, not liveSlots and windowsOf, whose calls were a third of
	// the walk.
	for p, page := range s.groups.pages {
		for i := range page {
			gr := &page[i]
			if gr.id == noID {
				continue
			}
			slot := uint32(p<<slabBits | i)
			id := s.idOf(slot)
			g = binary.AppendUvarint(g, uint64(len(id)))
			g = append(g, id...)
			g = binary.AppendUvarint(g, uint64(splitID(id)))
			if gr.more == 0 && s.fsets == nil {
				g = s.appendCell(g, &gr.first, true)
			} else {
				g = s.appendEncodedWindows(g, slot)
			}
			ends = append(ends, len(g))
			r := &s.recent[slot]
			samples = samples || r[0].offset >= 0
			sm = appendSamples(sm, r)
			sends = append(sends, len(sm))
		}
	}
	d.groups, d.ends, d.samples, d.sends = g, ends, sm, sends
	if samples {
		d.head[0] |= flagSamples
	} else {
		d.head[0] &^= flagSamples
	}
}

// appendCell appends the open windows of c, a group's only cell, and their count if
// counted (a group of one cell).
func (s *State) appendCell(b []byte, c *cell, counted bool) []byte {
	k, span := int64(0), c.span()
	for k < span && s.closedStart(c.start+k*s.every) {
		k++ // closed windows are at the front
	}
	if counted {
		b = binary.AppendUvarint(b, uint64(span-k))
	}
	n, v, f := c.n(), math.Float64bits(c.v), s.cellFlags(c)
	for ; k < span; k++ {
		b = binary.AppendVarint(b, c.start+k*s.every)
		b = binary.AppendVarint(b, n)
		b = binary.LittleEndian.AppendUint64(b, v)
		b = append(b, f)
	}
	return b
}

// appendEncodedWindows appends slot's open windows and their count, whatever its cells, with
// their value sets (count_distinct) in sorted order: the same state always encodes to
// the same bytes (snapshots are compared, and a restart must be exact).
func (s *State) appendEncodedWindows(b []byte, slot uint32) []byte {
	var w windows
	s.windowsAt(slot, &w)
	n := 0
	for pos := range w.n {
		c := w.cell(pos)
		for i := range c.span() {
			if !s.closedStart(c.start + i*s.every) {
				n++
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for pos := range w.n {
		c := w.cell(pos)
		var ref setRef
		switch {
		case s.fsets == nil:
		case pos == 0:
			ref = s.fsets.first[slot]
		default:
			ref = s.fsets.runs[w.g.more.index()][pos-1]
		}
		for i := range c.span() {
			start := c.start + i*s.every
			if s.closedStart(start) {
				continue
			}
			b = binary.AppendVarint(b, start)
			b = binary.AppendVarint(b, c.n())
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.v))
			b = append(b, s.cellFlags(c))
			if s.fsets != nil {
				b = s.fsets.appendSorted(b, ref)
			}
		}
	}
	return b
}

// AppendTo appends the encoding d holds, its groups in id order, to b.
func (d *Draft) AppendTo(b []byte) []byte {
	order := d.order[:0]
	for i := range d.ends {
		order = append(order, int32(i))
	}
	slices.SortFunc(order, func(i, j int32) int { return bytes.Compare(d.id(i), d.id(j)) })
	d.order = order
	b = slices.Grow(b, d.Len())
	b = append(b, d.head...)
	for _, i := range order {
		b = append(b, part(d.groups, d.ends, i)...)
	}
	b = append(b, d.life...)
	if d.head[0]&flagSamples != 0 {
		for _, i := range order {
			b = append(b, part(d.samples, d.sends, i)...)
		}
	}
	return b
}

// id is the id of the draft's group i, which its part starts with.
func (d *Draft) id(i int32) []byte {
	p := part(d.groups, d.ends, i)
	n, w := binary.Uvarint(p)
	return p[w : w+int(n)]
}

// part is the ith of the parts back to back in buf, ends saying where each ends.
func part(buf []byte, ends []int, i int32) []byte {
	from := 0
	if i > 0 {
		from = ends[i-1]
	}
	return buf[from:ends[i]]
}

// flagLifecycle, in the state's flags byte, says the lifecycle section follows the
// groups: the Suppressed and IncidentsDropped counters, then the open incidents in id
// order (id, opened, closes, window start and end, count, value bits). A state with
// nothing in it leaves the flag off, so it encodes as before the lifecycle existed.
const flagLifecycle = 2

// flagSilent, in the state's flags byte, says each open incident's entry ends with a
// byte, 1 for a silent one (Silence). Without silent incidents the flag is off and the
// entries encode as before it existed.
const flagSilent = 8

// flagKeysTooLong, in the state's flags byte, says Stats.KeysTooLong follows the other
// stats (a uvarint). A state that refused no key leaves it off and encodes as before
// it existed.
const flagKeysTooLong = 16

func (s *State) appendLifecycle(b []byte, silent bool) []byte {
	b = binary.AppendUvarint(b, s.stats.Suppressed)
	b = binary.AppendUvarint(b, s.stats.IncidentsDropped)
	b = binary.AppendUvarint(b, uint64(len(s.life.open)))
	for _, id := range slices.Sorted(maps.Keys(s.life.open)) {
		in := s.life.open[id]
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
		for _, v := range []int64{in.opened, in.closes, in.start, in.end, in.count} {
			b = binary.AppendVarint(b, v)
		}
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(in.value))
		if silent {
			b = append(b, boolByte(in.silent))
		}
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// decodeLifecycle reads what appendLifecycle wrote into s.
func (s *State) decodeLifecycle(d *decoder, silent bool) {
	if s.life == nil {
		d.fail("lifecycle section for a rule without suppress or resolve")
		return
	}
	s.stats.Suppressed = d.uvarint()
	s.stats.IncidentsDropped = d.uvarint()
	n := d.count()
	prev := ""
	for i := range n {
		id := string(d.bytes())
		var in incident
		for _, p := range []*int64{&in.opened, &in.closes, &in.start, &in.end, &in.count} {
			*p = d.varint()
		}
		in.value = math.Float64frombits(d.uint64())
		if silent {
			switch b := d.byte(); b {
			case 0, 1:
				in.silent = b == 1
			default:
				d.fail("bad incident silence byte")
			}
		}
		if d.err != nil {
			return
		}
		switch {
		case i > 0 && id <= prev:
			d.fail("incidents out of order")
		case !validGroupID([]byte(id), splitID([]byte(id)), len(s.r.GroupBy)):
			d.fail("malformed incident group id")
		case in.closes < in.opened || in.end-in.start != s.size || in.start%s.every != 0 || in.count < 1:
			d.fail("incident out of range")
		}
		if d.err != nil {
			return
		}
		prev = id
		s.life.open[id] = &in
		s.life.due = append(s.life.due, due{at: in.closes, id: id})
	}
	heap.Init(&s.life.due)
}

// The flags byte of an encoded window.
const (
	flagFired = 1 << iota // the window alerted
	flagHasV              // min and max: the value is set (always, as the count is not 0)
)

// cellFlags is c's flags byte.
func (s *State) cellFlags(c *cell) byte {
	var f byte
	if c.alerted() {
		f |= flagFired
	}
	if s.hasV(c.n()) {
		f |= flagHasV
	}
	return f
}

// hasV is whether a cell of n events has flagHasV.
func (s *State) hasV(n int64) bool {
	return (s.agg == aggMin || s.agg == aggMax) && n > 0
}

// Decode restores a state of rule r under limits lim from data AppendTo wrote, and
// returns the bytes after it.
func Decode(r *rule.Rule, lim Limits, data []byte) (*State, []byte, error) {
	var maxSet int64 // the most values of a count_distinct window restored
	s := New(r, lim)
	d := decoder{b: data}
	if len(d.b) < 1 {
		return nil, nil, ErrCorrupt
	}
	s.seen = d.b[0]&1 != 0
	hasLife, hasSamples, hasSilent := d.b[0]&flagLifecycle != 0, d.b[0]&flagSamples != 0, d.b[0]&flagSilent != 0
	hasKeysTooLong := d.b[0]&flagKeysTooLong != 0
	if d.b[0]&^(1|flagLifecycle|flagSamples|flagSilent|flagKeysTooLong) != 0 || hasSilent && !hasLife {
		return nil, nil, fmt.Errorf("%w: unknown state flags %#x", ErrCorrupt, d.b[0])
	}
	d.b = d.b[1:]
	s.maxTime = d.varint()
	for _, p := range []*uint64{&s.stats.Late, &s.stats.TimeErrors, &s.stats.GroupsDropped, &s.stats.DistinctDropped, &s.stats.Overflows} {
		*p = d.uvarint()
	}
	if hasKeysTooLong {
		s.stats.KeysTooLong = d.uvarint()
	}
	ng := d.count()
	s.reserve(min(ng, len(d.b)/minGroupBytes))
	// One group's windows and value sets, decoded before the group is added.
	var cells []cell
	var sets []map[string]struct{}
	// The closing index, by start while decoding: sorted once at the end.
	byStart := map[int64]*startList{}
	// The groups' slots in the order encoded, for the samples section.
	var order []uint32
	for range ng {
		id := d.bytes()
		split := int(d.uvarint())
		nc := d.count()
		if d.err != nil {
			break
		}
		if split > len(id) || nc == 0 {
			return nil, nil, fmt.Errorf("%w: group of %d windows split at %d of %d bytes", ErrCorrupt, nc, split, len(id))
		}
		// The id must be what contribute makes: the customer, length-prefixed, ending
		// at split, then one canonical value per group_by path. Reports and alerts
		// read both parts back (customerOf, GroupJSON) and must never fail on a
		// restored group.
		if !validGroupID(id, split, len(r.GroupBy)) {
			return nil, nil, fmt.Errorf("%w: malformed group id", ErrCorrupt)
		}
		cells, sets = cells[:0], sets[:0]
		for i := range nc {
			var c cell
			c.start = d.varint()
			n := d.varint()
			c.v = math.Float64frombits(d.uint64())
			flags := d.byte()
			// AppendTo writes only cells with events, and the flags that go with them.
			switch {
			case d.err != nil:
			case n < 1 || n >= maxCount:
				d.fail("window count out of range")
			case flags&^(flagFired|flagHasV) != 0 || (flags&flagHasV != 0) != s.hasV(n):
				d.fail("bad window flags")
			}
			c.nf = uint64(n) * oneEvent
			if flags&flagFired != 0 {
				c.nf |= firedBit
			}
			if s.distinct {
				// The count is checked against the bytes left only, and a value may be
				// empty: the map grows as values come, and the values must be in the
				// strictly ascending order AppendTo writes, so n bytes give no more
				// than n distinct values, never a map sized for many more than it holds.
				nv := d.count()
				set := make(map[string]struct{}, min(nv, 64))
				var prev []byte
				for j := range nv {
					v := d.bytes()
					if j > 0 && bytes.Compare(v, prev) <= 0 && d.err == nil {
						d.fail("count_distinct values repeated or out of order")
					}
					if d.err != nil {
						break
					}
					set[string(v)] = struct{}{}
					prev = v
				}
				if int64(len(set)) > s.lim.MaxDistinct {
					maxSet = max(maxSet, int64(len(set)))
					// Over the limit until the window closes (a running total's never).
					until := int64(math.MaxInt64)
					if s.size > 0 {
						until = c.start + s.size
					}
					s.overDistinctUntil = max(s.overDistinctUntil, until)
				}
				sets = append(sets, set)
			}
			if i > 0 && c.start <= cells[i-1].start {
				d.fail("windows out of order")
			}
			// An encoding holds open windows only, at starts the rule's windows have.
			if s.closedStart(c.start) || s.size == 0 && c.start != 0 || s.size > 0 && c.start%s.every != 0 {
				d.fail("a window closed by the watermark or at a start the rule has no window at")
			}
			cells = append(cells, c)
		}
		if d.err != nil {
			break
		}
		h := s.hash(id)
		if _, dup := s.lookup(id, h); dup {
			return nil, nil, fmt.Errorf("%w: a group is listed twice", ErrCorrupt)
		}
		slot, ok := s.newGroup(id, h)
		if !ok {
			return nil, nil, fmt.Errorf("%w: more groups than a state holds", ErrCorrupt)
		}
		s.restoreWindows(slot, cells, sets, byStart)
		order = append(order, slot)
	}
	if hasLife && d.err == nil {
		s.decodeLifecycle(&d, hasSilent)
	}
	if hasSamples && d.err == nil {
		s.decodeSamples(&d, order)
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	if s.size > 0 {
		s.closing = make([]startList, 0, len(byStart))
		for _, e := range byStart {
			s.closing = append(s.closing, *e)
		}
		slices.SortFunc(s.closing, func(a, b startList) int { return cmp.Compare(a.start, b.start) })
	}
	s.reported = s.stats // counted by the process that encoded it
	// A snapshot taken under larger limits holds more than this state keeps: what it
	// holds stays (dropping some would change counts already made), new groups and
	// values are refused until it is back within them, and Degraded says so till then.
	s.restoredOverGroups = int64(s.live) > s.lim.MaxGroups
	s.overDistinct = maxSet
	return s, d.b, nil
}

// minGroupBytes is the fewest bytes AppendTo writes for a group (a one-byte id and its
// length, split, the window count, and a window of 11 bytes): Decode sizes its slices
// for the groups the data can hold, not for whatever count it says.
const minGroupBytes = 15

// reserve sizes an empty state's table (and count_distinct's sets) for n groups: a
// restore knows their number up front.
func (s *State) reserve(n int) {
	if n == 0 {
		return
	}
	if s.distinct {
		s.firstSets = make([]map[string]struct{}, 0, n)
	}
	s.growTable(n)
}

// restoreWindows gives slot, a group just added, the decoded windows cells (in start
// order, a window each) and, for count_distinct, their value sets, listing them in
// byStart. Consecutive windows with the same figures share a cell again (runs.go).
func (s *State) restoreWindows(slot uint32, cells []cell, sets []map[string]struct{}, byStart map[int64]*startList) {
	if s.size > 0 {
		var e *startList
		for _, c := range cells {
			if e = byStart[c.start]; e == nil {
				e = &startList{start: c.start}
				byStart[c.start] = e
			}
			e.cells++
		}
		e.slots = append(e.slots, slot)
	}
	s.cells += len(cells)
	if !s.distinct && s.size > 0 {
		merged := cells[:1]
		for _, c := range cells[1:] {
			last := &merged[len(merged)-1]
			if c.start == s.segEnd(last) && c.nf == last.nf&^((maxSpan-1)<<spanShift) &&
				math.Float64bits(c.v) == math.Float64bits(last.v) && last.span() < maxSpan {
				last.setSpan(last.span() + 1)
				continue
			}
			merged = append(merged, c)
		}
		cells = merged
	}
	g := s.group(slot)
	g.first = cells[0]
	if s.distinct {
		s.firstSets[slot] = sets[0]
	}
	if n := len(cells) - 1; n > 0 {
		r := s.newRun(n)
		s.setUsed(r, n)
		copy(s.runOf(r), cells[1:])
		if s.distinct {
			copy(s.runSets(r), sets[1:])
		}
		g.more = r
	}
}

// validGroupID reports whether id is a customer's length (uvarint), the customer, and,
// from split, a canonical key of paths values.
func validGroupID(id []byte, split, paths int) bool {
	n, w := binary.Uvarint(id[:min(len(id), binary.MaxVarintLen64)])
	if w <= 0 || n > uint64(len(id)-w) || w+int(n) != split {
		return false
	}
	key := id[split:]
	var scratch []byte
	for range paths {
		var err error
		if scratch, key, err = appendKeyJSON(scratch[:0], key); err != nil {
			return false
		}
	}
	return len(key) == 0
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count is a number of items that follow, each at least one byte: more than the bytes
// left is corrupt (and would otherwise make a hostile allocation).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("count beyond the data")
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length beyond the data")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail("short value")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("short flags")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}
