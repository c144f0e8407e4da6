package window

import (
	"bytes"
	"encoding/binary"
	"iter"
	"math"
	"math/bits"
	"sync"
)

// How a State stores its groups and windows.
//
// A state may hold 100,000 groups (more under a rule's max_groups), and the budget is
// 64 bytes of heap per open (group, window). A Go map of strings to a record per group,
// with a slice of windows each, costs twice that. So the state keeps its groups in flat
// slices without pointers, linked by index, as the live daemon keeps its counters
// (live/counters.go): whatever their number, the garbage collector has nothing to scan
// in them, and a group with one window costs its 32-byte record, its id's bytes, and a
// 4-byte entry in each of the hash table and the closing index (see TestLayout and
// BenchmarkWindowMemory).
//
//   - groups is a slab of group records, by slot number. A group's windows are cells,
//     each holding consecutive windows with one history (runs.go): a group whose
//     events all fell in the same windows (a group of one event, say) is one cell, in
//     its record.
//     Further cells are a run, side by side in start order. Freed slots are a stack of
//     their numbers, reused first (popping a list through the records would read a
//     record seldom in the cache).
//   - A window closed by the watermark may stay in its group's cells until the group
//     is next touched (trim) or its last window closes, when the group goes whole: a
//     group is visited once when it goes, not once per window (closing.go). Listings,
//     encodings and counts skip such windows (windowsOf, State.cells).
//   - ids holds the groups' ids back to back, each as a uvarint length and the id; a
//     record holds its offset. A freed group's id is garbage, dropped when ids is full
//     and at least a third of it is garbage (compactIDs). (At half, a steady churn of
//     groups would fill a compacted slice with just under half garbage, grow it by
//     append, copying it, and compact the grown one: three times the allocation.)
//   - table finds a group's slot by id: open addressing with linear probing (see
//     lookup).
//   - count_distinct's value sets, the only part with pointers, are in slices parallel
//     to the records and the runs (firstSets, runSetsOf): a window's set has the
//     index of its cell.

// group is one (customer, group values) with its windows: 32 bytes.
type group struct {
	// first is the group's earliest window.
	first cell
	// id is the offset of the group's id in State.ids; noID in a free slot.
	id uint32
	// more is the run of the group's later windows (0: none).
	more runRef
}

// noID marks a free slot: no id entry can start there, as ids is below 4 GiB.
const noID = math.MaxUint32

// maxSlots bounds the groups of a state whatever its limits (2^30 groups are 32 GiB of
// records), so that slot numbers and table positions fit in 32 bits.
const maxSlots = 1 << 30

// maxIDBytes bounds ids, so that an offset fits in group.id: a state past 4 GiB of
// group ids refuses new groups as beyond its group limit. A variable for tests.
var maxIDBytes uint64 = math.MaxUint32 - 1

func (s *State) group(slot uint32) *group { return s.groups.at(slot) }

// idOf is slot's id, aliasing ids: valid until a group is added.
func (s *State) idOf(slot uint32) []byte {
	b := s.ids[s.group(slot).id:]
	if n := b[0]; n < 0x80 { // most ids are shorter than 128 bytes
		return b[1 : 1+n]
	}
	n, w := binary.Uvarint(b)
	return b[w : w+int(n)]
}

// splitID is where the group key starts in id, after the customer's length and the
// customer.
func splitID(id []byte) int {
	n, w := binary.Uvarint(id[:min(len(id), binary.MaxVarintLen64)])
	return w + int(n)
}

// customerOf is the customer part of id.
func customerOf(id []byte) []byte {
	n, w := binary.Uvarint(id[:min(len(id), binary.MaxVarintLen64)])
	return id[w : w+int(n)]
}

// liveSlots yields the slots of open groups, in slot order.
func (s *State) liveSlots() iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for slot := range uint32(s.groups.len()) {
			if s.group(slot).id != noID && !yield(slot) {
				return
			}
		}
	}
}

// newGroup adds the group of id (h its hash), known to be absent, without windows, and
// returns its slot; ok is false if the state cannot hold it (maxSlots, maxIDBytes).
func (s *State) newGroup(id []byte, h uint64) (slot uint32, ok bool) {
	need := uvarintLen(len(id)) + len(id)
	end := uint64(len(s.ids) + need)
	if s.idGarbage > 0 && (end > uint64(cap(s.ids)) && s.idGarbage*3 >= len(s.ids) || end > maxIDBytes) {
		s.compactIDs()
		end = uint64(len(s.ids) + need)
	}
	if end > maxIDBytes || s.live >= maxSlots {
		return 0, false
	}
	// The table grows before the slab can, so that a slot number always fits below
	// the table's slotBits (see lookup).
	if (s.live+1)*4 > len(s.table)*3 {
		s.growTable(s.live + 1)
	}
	if k := len(s.freeSlots); k > 0 {
		slot = s.freeSlots[k-1]
		s.freeSlots = s.freeSlots[:k-1]
	} else {
		slot = s.groups.push(group{})
		if s.distinct {
			s.firstSets = append(s.firstSets, nil)
		}
		s.recent = append(s.recent, noSamples)
	}
	s.recent[slot] = noSamples
	*s.group(slot) = group{id: uint32(len(s.ids))}
	s.ids = binary.AppendUvarint(s.ids, uint64(len(id)))
	s.ids = append(s.ids, id...)
	s.place(slot, h)
	s.live++
	return slot, true
}

// dropGroup frees slot, whose last window closed.
func (s *State) dropGroup(slot uint32) {
	s.unplace(slot, s.hash(s.idOf(slot)))
	s.freeSlot(slot)
}

// freeSlot frees slot's record and id, leaving its table entry to the caller.
func (s *State) freeSlot(slot uint32) {
	n := len(s.idOf(slot))
	s.idGarbage += uvarintLen(n) + n
	if g := s.group(slot); g.more != 0 {
		s.freeRun(g.more)
	}
	*s.group(slot) = group{id: noID}
	s.freeSlots = append(s.freeSlots, slot)
	if s.distinct {
		s.firstSets[slot] = nil
	}
	s.live--
}

// compactIDs drops the freed groups' ids from ids: the open groups' ids go to a
// scratch slice shared by all states, then back to the front of ids, so that a state
// that churns groups reuses one slice rather than allocating a new one each time, and
// nothing needs their order. A large slice over four times what it keeps, after a
// burst of groups, is replaced by one twice that, so that the memory goes back. (Not
// a small one: a state whose groups all go at once, as tumbling windows' do, would
// shrink it and grow it again every window.)
func (s *State) compactIDs() {
	keep := len(s.ids) - s.idGarbage
	ids := s.ids
	if cap(s.ids) > 4*keep && cap(s.ids) > shrinkIDsAbove {
		ids = make([]byte, 0, max(2*keep, 64))
	} else {
		buf := idScratch.Get().(*[]byte)
		defer idScratch.Put(buf)
		*buf = append((*buf)[:0], s.ids...)
		s.ids = *buf
		ids = ids[:0]
	}
	for slot := range s.liveSlots() {
		id := s.idOf(slot)
		s.group(slot).id = uint32(len(ids))
		ids = binary.AppendUvarint(ids, uint64(len(id)))
		ids = append(ids, id...)
	}
	s.ids, s.idGarbage = ids, 0
}

// shrinkIDsAbove is the capacity of ids above which compactIDs may shrink it. A
// variable for tests.
var shrinkIDsAbove = 64 << 10

// idScratch holds compactIDs's scratch slices.
var idScratch = sync.Pool{New: func() any { return new([]byte) }}

// The hash table. An entry is a group's slot + 1 in its low slotBits bits (0: empty),
// and above them a tag: as many bits of the hash of the group's id as are left. A
// probe reads a group's record and id only when the tags match, so lookups stay in
// the table, which costs 4 bytes an entry. A slot + 1 always fits below slotBits: the
// slab takes a new slot only when every slot is open, after the table has grown to
// hold one more group, so it never has more slots than three quarters of the table's
// entries (and the table never shrinks). The table is at most three quarters full and
// grows by half: 5.3 to 8 bytes a group, where doubling a power of two would cost up
// to 10.7. A group's home position is the high half of its hash scaled to the table's
// length, which need not be a power of two.
//
// In a table of at most 2^tagHomeBits entries, the tag is the top of the hash's high
// half and the home is computed from the tag alone: the tag's 20 or more bits place an
// entry as finely as any table this size needs and still tell apart entries with one
// home. Taking a group out (unplace) then finds the homes of the entries after it from
// the entries themselves, where a larger table's must hash their ids again, reading
// each group's id (rarely in the cache): most states are small, one per rule.

// tagHomeBits is the largest slotBits whose table computes homes from tags.
const tagHomeBits = 12

func (s *State) hash(id []byte) uint64 { return hashID(id) }

// home is the position where a probe for hash h starts.
func (s *State) home(h uint64) int {
	if s.slotBits <= tagHomeBits {
		return s.tagHome(s.tagOf(h))
	}
	return int((h >> 32) * uint64(len(s.table)) >> 32)
}

// tagOf is the tag an entry of hash h has, in the entry's bits above its slot.
func (s *State) tagOf(h uint64) uint32 {
	if s.slotBits <= tagHomeBits {
		return uint32(h>>32) &^ s.slotMask()
	}
	return uint32(h) << s.slotBits
}

// tagHome is the home of tag (as tagOf makes it) in a table of at most 2^tagHomeBits
// entries.
func (s *State) tagHome(tag uint32) int { return int(uint64(tag) * uint64(len(s.table)) >> 32) }

func (s *State) slotMask() uint32 { return 1<<s.slotBits - 1 }

// smallSlab is the most slots find scans rather than hashing: comparing a few ids
// costs less than hashing one (Go's maps scan up to 8 entries for the same reason),
// and a rule without group_by has one group per customer, often a few per partition.
const smallSlab = 4

// find returns the slot of the group of id, if open, and id's hash: h if hashed, else
// computed here unless the slots were few enough to scan (then 0, hashed false).
func (s *State) find(id []byte, h uint64, hashed bool) (slot uint32, hash uint64, isHashed, ok bool) {
	if !hashed && s.groups.len() <= smallSlab {
		for slot := range uint32(s.groups.len()) {
			if s.group(slot).id != noID && bytes.Equal(s.idOf(slot), id) {
				return slot, 0, false, true
			}
		}
		return 0, 0, false, false
	}
	if !hashed {
		h = hashID(id)
	}
	slot, ok = s.lookup(id, h)
	return slot, h, true, ok
}

// lookup returns the slot of the group of id (h its hash), if open.
func (s *State) lookup(id []byte, h uint64) (slot uint32, ok bool) {
	if len(s.table) == 0 {
		return 0, false
	}
	mask := s.slotMask()
	tag := s.tagOf(h)
	for i := s.home(h); ; {
		e := s.table[i]
		if e == 0 {
			return 0, false
		}
		if e&^mask == tag && bytes.Equal(s.idOf(e&mask-1), id) {
			return e&mask - 1, true
		}
		if i++; i == len(s.table) {
			i = 0
		}
	}
}

// place enters slot, whose id hashes to h, in the table.
func (s *State) place(slot uint32, h uint64) {
	i := s.home(h)
	for s.table[i] != 0 {
		if i++; i == len(s.table) {
			i = 0
		}
	}
	s.table[i] = s.tagOf(h) | (slot + 1)
}

// unplace removes slot, whose id hashes to h, from the table. The entries after it in
// its run move back into the hole when their home is not after it (backward-shift
// deletion), so that no probe meets a gap before its group and no tombstones build up.
func (s *State) unplace(slot uint32, h uint64) {
	mask, n := s.slotMask(), len(s.table)
	i := s.home(h)
	for s.table[i]&mask != slot+1 {
		if i++; i == n {
			i = 0
		}
	}
	for j := i; ; {
		if j++; j == n {
			j = 0
		}
		e := s.table[j]
		if e == 0 {
			break
		}
		// e may fill the hole at i unless its home lies in (i, j], cyclically.
		var k int
		if s.slotBits <= tagHomeBits {
			k = s.tagHome(e &^ mask)
		} else {
			k = s.home(s.hash(s.idOf(e&mask - 1)))
		}
		if (j-k+n)%n >= (j-i+n)%n {
			s.table[i] = e
			i = j
		}
	}
	s.table[i] = 0
}

// growTable makes the table big enough for groups groups and places the open ones.
func (s *State) growTable(groups int) {
	n := max(8, len(s.table)*3/2)
	for n*3 < groups*4 {
		n = n * 3 / 2
	}
	s.table = make([]uint32, n)
	s.slotBits = uint(bits.Len32(uint32(n)))
	for slot := range s.liveSlots() {
		s.place(slot, s.hash(s.idOf(slot)))
	}
}

func uvarintLen(n int) int {
	return (bits.Len64(uint64(n)|1) + 6) / 7
}

// slab is a growing array of T in pages of up to slabPage elements. Growing never
// copies what it holds (append copies a large slice whole, holding both copies
// meanwhile), and at most a page is allocated ahead, where append allocates up to a
// quarter more than the slice holds: 8 bytes a group, an eighth of the budget. The
// first page grows as a slice does, so that a small state stays small.
type slab[T any] struct {
	pages [][]T
	n     int
}

const (
	slabBits = 10
	slabPage = 1 << slabBits // 32 KiB of groups or nodes
)

func (s *slab[T]) len() int { return s.n }

func (s *slab[T]) at(i uint32) *T { return &s.pages[i>>slabBits][i&(slabPage-1)] }

// push appends v and returns its index.
func (s *slab[T]) push(v T) uint32 {
	p := s.n >> slabBits
	if p == len(s.pages) {
		s.pages = append(s.pages, nil)
	}
	page := s.pages[p]
	if len(page) == cap(page) {
		size := slabPage
		if p == 0 {
			size = min(max(2*cap(page), 8), slabPage)
		}
		page = append(make([]T, 0, size), page...)
	}
	s.pages[p] = append(page, v)
	s.n++
	return uint32(s.n - 1)
}
