package live

import (
	"hash/maphash"
	"math"
	"unsafe"
)

// counterStore is one partition's (customer, rule version) counters. It holds no
// pointers: names sit back to back in one byte slice, customers and counters in flat
// slices linked by index, and an open-addressing table finds a customer. So millions of
// counters cost the garbage collector nothing to scan (a map of per-customer slices made
// every collection walk them, stalling the event loop), about 50 bytes per counter even
// with one counter per customer, and a snapshot is a sequential walk.
//
// Counters are keyed by a rule version's Seq (controls.Version). Only the partition's worker writes; readers hold
// the partition's lock.
type counterStore struct {
	names []byte
	custs []customerEntry
	// slots holds customer index+1 at position hash&mask (linear probing); 0 is empty.
	slots []uint32
	cells []counterCell
	// free is the first cell of the list of unlinked cells (-1: none), reused first.
	free    int32
	live    int // cells in use
	seed    maphash.Seed
	scratch []byte
	// deferIndex: customers are appended without being placed in slots (see appendNew).
	deferIndex bool
}

type customerEntry struct {
	hash uint32
	off  uint32 // of the name in names
	len  uint32
	head int32 // first counter cell, -1: none
}

type counterCell struct {
	rule uint32
	next int32
	n    int64
}

func newCounterStore() counterStore {
	return counterStore{free: -1, seed: maphash.MakeSeed()}
}

// sized pre-allocates room for customers customers, counters counters and nameBytes
// bytes of names (a restore knows them up front).
func (s *counterStore) sized(customers, counters, nameBytes int) {
	s.names = make([]byte, 0, nameBytes)
	s.custs = make([]customerEntry, 0, customers)
	s.cells = make([]counterCell, 0, counters)
	s.slots = make([]uint32, tableSize(customers))
}

func tableSize(customers int) int {
	n := 16
	for n*3 < customers*4 { // load ≤ 0.75
		n *= 2
	}
	return n
}

func (s *counterStore) hash(name string) uint32 {
	return uint32(maphash.String(s.seed, name))
}

func (s *counterStore) name(ci int) string {
	c := &s.custs[ci]
	return string(s.names[c.off : c.off+c.len])
}

// nameBytes is customer ci's name without a copy; it is valid until the store changes.
func (s *counterStore) nameBytes(ci int) []byte {
	c := &s.custs[ci]
	return s.names[c.off : c.off+c.len]
}

// find returns the index of customer name, or -1.
func (s *counterStore) find(name string) int {
	if len(s.slots) == 0 {
		return -1
	}
	h := s.hash(name)
	mask := uint32(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := s.slots[i]
		if e == 0 {
			return -1
		}
		c := &s.custs[e-1]
		if c.hash == h && string(s.names[c.off:c.off+c.len]) == name {
			return int(e - 1)
		}
	}
}

// appendNew adds customer name, known to be absent (a restore's customers are distinct),
// and returns its index. While s.deferIndex is set (a restore), the customer is not
// placed in the table: reindex places them all at the end, faster.
func (s *counterStore) appendNew(name []byte) int {
	if !s.deferIndex && (len(s.custs)+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	if len(s.names)+len(name) > math.MaxUint32 || len(s.custs) >= math.MaxUint32-1 {
		panic("live: a partition's counter store outgrew 4 GiB of customer names")
	}
	h := uint32(maphash.Bytes(s.seed, name))
	ci := len(s.custs)
	s.custs = append(s.custs, customerEntry{hash: h, off: uint32(len(s.names)), len: uint32(len(name)), head: -1})
	s.names = append(s.names, name...)
	if !s.deferIndex {
		s.place(h, uint32(ci+1))
	}
	return ci
}

// intern returns the index of customer name, adding it (with a copy of the name) when
// new.
func (s *counterStore) intern(name string) int {
	if ci := s.find(name); ci >= 0 {
		return ci
	}
	s.scratch = append(s.scratch[:0], name...)
	return s.appendNew(s.scratch)
}

func (s *counterStore) place(h, entry uint32) {
	mask := uint32(len(s.slots) - 1)
	i := h & mask
	for s.slots[i] != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = entry
}

func (s *counterStore) grow() {
	s.slots = make([]uint32, tableSize(len(s.custs)+1)*2)
	s.reindex()
}

// reindex places every customer in s.slots (which must be empty and large enough). Done
// customer by customer, each insertion would miss the CPU caches for a large table;
// grouping customers by their slot's region first (a counting sort on the slot's top
// bits) makes the writes land region by region, several times faster for millions.
func (s *counterStore) reindex() {
	const regionBits = 12
	mask := uint32(len(s.slots) - 1)
	shift := max(0, bitsLen(mask)-regionBits)
	if len(s.custs) < 1<<16 || shift == 0 {
		for i := range s.custs {
			s.place(s.custs[i].hash, uint32(i+1))
		}
		return
	}
	var starts [1<<regionBits + 1]int
	for i := range s.custs {
		starts[(s.custs[i].hash&mask)>>shift+1]++
	}
	for r := 1; r < len(starts); r++ {
		starts[r] += starts[r-1]
	}
	// Each entry carries its hash, so the placing pass reads order sequentially instead of
	// custs at random.
	order := make([]uint64, len(s.custs))
	for i := range s.custs {
		h := s.custs[i].hash
		r := (h & mask) >> shift
		order[starts[r]] = uint64(h)<<32 | uint64(i+1)
		starts[r]++
	}
	for _, e := range order {
		s.place(uint32(e>>32), uint32(e))
	}
}

func bitsLen(x uint32) int {
	n := 0
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}

// add counts n more for rule in customer ci's counter and returns the new count.
func (s *counterStore) add(ci int, rule uint32, n int64) int64 {
	c := &s.custs[ci]
	for j := c.head; j >= 0; j = s.cells[j].next {
		if s.cells[j].rule == rule {
			s.cells[j].n += n
			return s.cells[j].n
		}
	}
	cell := counterCell{rule: rule, next: c.head, n: n}
	var j int32
	if s.free >= 0 {
		j = s.free
		s.free = s.cells[j].next
		s.cells[j] = cell
	} else {
		if len(s.cells) >= math.MaxInt32 {
			panic("live: a partition's counter store outgrew 2^31 counters")
		}
		j = int32(len(s.cells))
		s.cells = append(s.cells, cell)
	}
	c.head = j
	s.live++
	return n
}

// get is customer ci's count for rule (0 if none).
func (s *counterStore) get(ci int, rule uint32) int64 {
	for j := s.custs[ci].head; j >= 0; j = s.cells[j].next {
		if s.cells[j].rule == rule {
			return s.cells[j].n
		}
	}
	return 0
}

// count is name's count for rule (0 if none).
func (s *counterStore) count(name string, rule uint32) int64 {
	if ci := s.find(name); ci >= 0 {
		return s.get(ci, rule)
	}
	return 0
}

// each calls fn for every counter.
func (s *counterStore) each(fn func(ci int, rule uint32, n int64)) {
	for ci := range s.custs {
		for j := s.custs[ci].head; j >= 0; j = s.cells[j].next {
			fn(ci, s.cells[j].rule, s.cells[j].n)
		}
	}
}

// drop removes every counter of the rules for which gone is true.
func (s *counterStore) drop(gone func(rule uint32) bool) {
	for ci := range s.custs {
		prev := int32(-1)
		for j := s.custs[ci].head; j >= 0; {
			next := s.cells[j].next
			if gone(s.cells[j].rule) {
				if prev < 0 {
					s.custs[ci].head = next
				} else {
					s.cells[prev].next = next
				}
				s.cells[j] = counterCell{next: s.free}
				s.free = j
				s.live--
			} else {
				prev = j
			}
			j = next
		}
	}
}

// footprint is the memory the store holds, in bytes.
func (s *counterStore) footprint() int {
	return cap(s.names) + cap(s.custs)*int(unsafe.Sizeof(customerEntry{})) +
		cap(s.cells)*int(unsafe.Sizeof(counterCell{})) + cap(s.slots)*4 + cap(s.scratch)
}

// customers is the number of customers with at least one counter.
func (s *counterStore) customers() int {
	n := 0
	for i := range s.custs {
		if s.custs[i].head >= 0 {
			n++
		}
	}
	return n
}
