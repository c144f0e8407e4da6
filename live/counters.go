package live

import (
	"hash/maphash"
	"math"
	"unsafe"

	"github.com/hindsightdev/hindsight/window"
)

// counterStore is one partition's (customer, rule version) counters. It holds no
// pointers: names sit back to back in pages (nameArena), customers and counters in
// chunked slices (chunked.go) linked by index, and an open-addressing table finds a
// customer. So millions of counters cost the garbage collector nothing to scan (a map
// of per-customer slices made every collection walk them, stalling the event loop),
// about 60 bytes per counter even with one counter per customer, and a snapshot is a
// sequential walk. A customer's counters are linked in a list; a customer with more
// than smallCustomer of them also has them in a second table, keyed by (customer,
// rule): walking a long list per match cost time linear in the rules the customer
// matched (with 1,000 rules, three quarters of the daemon's CPU), while a short list
// is walked faster than a table is probed, and costs no table memory.
//
// Counters are keyed by a rule version's Seq (controls.Version). Only the partition's worker writes; readers hold
// the partition's lock.
type counterStore struct {
	names nameArena
	custs chunked[customerEntry]
	// slots holds customer index+1 at the customer's hash.
	slots probeTable[uint32]
	cells chunked[counterCell]
	// index holds customer<<32 | cell index+1 at cellHash(customer, rule), for the cells
	// of customers with more than smallCustomer counters. It is rebuilt after cells are
	// dropped.
	index probeTable[uint64]
	// free is the first cell of the list of unlinked cells (-1: none), reused first.
	free    int32
	live    int // cells in use
	seed    maphash.Seed
	scratch []byte
	// deferIndex: customers are appended without being placed in slots (see appendNew),
	// counters without being looked up or indexed (see add).
	deferIndex bool
	// max bounds the counters (Config.MaxCounters; 0: no bound): at it, a new counter
	// or customer is refused (noRoom). maxNames bounds the names' bytes, pages' unused
	// ends included (Config.MaxCustomerIDBytes; 0: maxNameBytes): past it a new
	// customer is refused (noNameRoom). What a restore or compact brings back is not
	// refused: it fitted the store it came from (over a bound lowered since, it is shown:
	// restoredover.go).
	max      int
	maxNames int64
}

// noRoom is intern's and add's answer when the store is at max counters, noNameRoom
// intern's when its names are at maxNames bytes. Nothing is made. Millions of distinct
// customers (record keys) made the store grow until the process ran out of memory, or
// panicked at 4 GiB of names.
const (
	noRoom     = -2
	noNameRoom = -3
)

// maxNameBytes is the most a partition's customer names may take: their offsets are
// uint32 (Config.MaxCustomerIDBytes may bound them lower).
const maxNameBytes = window.MaxIDBytes

// DefaultMaxCounters is Config.MaxCounters' default: ten million counters, about
// 600 MB per partition, besides their customers' ids. It is window's, so that
// backtests, previews and rules test replay plain counts under the same bound.
const DefaultMaxCounters = window.DefaultMaxCounters

// DefaultMaxCustomerIDBytes is Config.MaxCustomerIDBytes' default: 1 GiB of customer
// ids per partition, a million ids of 1,024 bytes (--max-customer-bytes) or tens of
// millions of usual ones. It is window's, so that backtests and rules test replay
// plain counts under the same bound.
const DefaultMaxCustomerIDBytes = window.DefaultMaxCustomerIDBytes

// DefaultMaxSnapshotBytes is Config.MaxSnapshotBytes' default, 2 GiB: a body at the
// default limits of plain counters holds at most DefaultMaxCustomerIDBytes of ids and
// DefaultMaxCounters counters of up to a dozen bytes each (about 1.2 GiB), and leaves the rest
// to windowed rules' states, which their own limits bound per rule, not together.
// It is also what a crafted snapshot can make a restore allocate.
const DefaultMaxSnapshotBytes = 2 << 30

type customerEntry struct {
	hash uint32
	off  uint32 // of the name in names
	len  uint32
	head int32  // first counter cell, -1: none
	n    uint32 // counters in the list
}

// smallCustomer is how many counters a customer keeps in its list alone; past it they
// are in the index too.
const smallCustomer = 8

type counterCell struct {
	n    int64
	rule uint32
	next int32
}

// cellHash spreads a (customer, rule) key over the index (Fibonacci hashing).
func cellHash(ci int, rule uint32) uint32 {
	return uint32(((uint64(ci)<<32 | uint64(rule)) * 0x9E3779B97F4A7C15) >> 32)
}

// cell returns the index of customer ci's counter for rule, or -1.
func (s *counterStore) cell(ci int, rule uint32) int32 {
	c := s.custs.at(ci)
	if c.n <= smallCustomer {
		for j := c.head; j >= 0; {
			cell := s.cells.at(int(j))
			if cell.rule == rule {
				return j
			}
			j = cell.next
		}
		return -1
	}
	// cur is probed here rather than through probeCell: this runs once per matched
	// rule, and the call doubled its cost (BenchmarkCounterAdd).
	h := cellHash(ci, rule)
	if cur := s.index.cur; len(cur) > 0 {
		mask := uint32(len(cur) - 1)
		for i := h & mask; ; i = (i + 1) & mask {
			e := cur[i]
			if e == 0 {
				break
			}
			if j := int32(uint32(e)) - 1; uint32(e>>32) == uint32(ci) && s.cells.at(int(j)).rule == rule {
				return j
			}
		}
	}
	if s.index.old == nil {
		return -1
	}
	return s.probeCell(s.index.old, h, ci, rule)
}

// probeCell looks customer ci's counter for rule (hash h) up in table, or -1.
func (s *counterStore) probeCell(table []uint64, h uint32, ci int, rule uint32) int32 {
	if len(table) == 0 {
		return -1
	}
	mask := uint32(len(table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := table[i]
		if e == 0 {
			return -1
		}
		if j := int32(uint32(e)) - 1; uint32(e>>32) == uint32(ci) && s.cells.at(int(j)).rule == rule {
			return j
		}
	}
}

// indexNew puts in the index what customer ci's new cell j calls for: j, or every
// cell of ci when j took it past smallCustomer.
func (s *counterStore) indexNew(ci int, c *customerEntry, j int32) {
	switch {
	case c.n <= smallCustomer:
	case c.n == smallCustomer+1:
		for k := c.head; k >= 0; k = s.cells.at(int(k)).next {
			s.placeCell(ci, k)
		}
	default:
		s.placeCell(ci, j)
	}
}

func (s *counterStore) placeCell(ci int, j int32) {
	s.index.insert(cellHash(ci, s.cells.at(int(j)).rule), uint64(ci)<<32|uint64(j+1), s.cellEntryHash)
}

// cellEntryHash is the hash of an index entry.
func (s *counterStore) cellEntryHash(e uint64) uint32 {
	return cellHash(int(e>>32), s.cells.at(int(uint32(e))-1).rule)
}

// reindexCells rebuilds the index from the lists of the customers with more than
// smallCustomer counters, at most 3/4 full, times room (1: just that).
func (s *counterStore) reindexCells(room int) {
	big := 0
	for ci := range s.custs.len() {
		if n := s.custs.at(ci).n; n > smallCustomer {
			big += int(n)
		}
	}
	slots := tableSize(big) * room
	if big == 0 {
		slots = 0
	}
	s.index.fill(slots, big, func(yield func(hash uint32, entry uint64)) {
		for ci := range s.custs.len() {
			c := s.custs.at(ci)
			if c.n <= smallCustomer {
				continue
			}
			for j := c.head; j >= 0; j = s.cells.at(int(j)).next {
				yield(cellHash(ci, s.cells.at(int(j)).rule), uint64(ci)<<32|uint64(j+1))
			}
		}
	})
}

func newCounterStore() counterStore {
	return counterStore{free: -1, seed: maphash.MakeSeed()}
}

// sized pre-allocates room for customers customers, counters counters and nameBytes
// bytes of names (a restore knows them up front).
func (s *counterStore) sized(customers, counters, nameBytes int) {
	s.names.reserve(nameBytes)
	s.custs.reserve(customers)
	s.cells.reserve(counters)
	s.slots.fill(tableSize(customers), 0, nil)
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
	c := s.custs.at(ci)
	return string(s.names.at(c.off, c.len))
}

// nameBytes is customer ci's name without a copy; it is valid until the store changes.
func (s *counterStore) nameBytes(ci int) []byte {
	c := s.custs.at(ci)
	return s.names.at(c.off, c.len)
}

// find returns the index of customer name, or -1.
func (s *counterStore) find(name string) int {
	h := s.hash(name)
	e, ok := s.slots.find(h, func(e uint32) bool {
		c := s.custs.at(int(e - 1))
		return c.hash == h && string(s.names.at(c.off, c.len)) == name
	})
	if !ok {
		return -1
	}
	return int(e - 1)
}

// appendNew adds customer name, known to be absent (a restore's customers are distinct),
// and returns its index. While s.deferIndex is set (a restore), the customer is not
// placed in the table: reindex places them all at the end, faster.
func (s *counterStore) appendNew(name []byte) int {
	off, ok := s.names.add(name)
	if !ok || s.custs.len() >= math.MaxUint32-1 {
		panic("live: a partition's counter store outgrew 4 GiB of customer names")
	}
	h := uint32(maphash.Bytes(s.seed, name))
	ci := s.custs.append(customerEntry{hash: h, off: off, len: uint32(len(name)), head: -1})
	if !s.deferIndex {
		s.slots.insert(h, uint32(ci+1), s.custEntryHash)
	}
	return ci
}

// intern returns the index of customer name, adding it (with a copy of the name) when
// new, or noRoom or noNameRoom when it is new and the store is full: a customer is
// interned to be given a counter, which a full store would refuse.
func (s *counterStore) intern(name string) int {
	if s.slots.old != nil {
		s.slots.move(growSteps, s.custEntryHash) // as add does for the counters' index
	}
	if ci := s.find(name); ci >= 0 {
		return ci
	}
	if s.full() {
		return noRoom
	}
	if !s.names.fits(len(name), s.maxNames) {
		return noNameRoom
	}
	s.scratch = append(s.scratch[:0], name...)
	return s.appendNew(s.scratch)
}

// full says whether the store is at its bound of counters.
func (s *counterStore) full() bool { return s.max > 0 && s.live >= s.max }

// custEntryHash is the hash of a customer table entry.
func (s *counterStore) custEntryHash(e uint32) uint32 { return s.custs.at(int(e - 1)).hash }

// reindex places every customer in a table of its size, at once (a restore).
func (s *counterStore) reindex() {
	s.slots.fill(tableSize(s.custs.len()), s.custs.len(), func(yield func(hash uint32, entry uint32)) {
		for i := range s.custs.len() {
			yield(s.custs.at(i).hash, uint32(i+1))
		}
	})
}

// fillTable places n entries, which each calls yield with (entry ≠ 0, at hash&mask,
// linear probing), in table, which must be empty and large enough. Done one by one,
// each insertion would miss the CPU caches for a large table; grouping them by their
// slot's region first (a counting sort on the slot's top bits; each calls twice) makes
// the writes land region by region, several times faster for millions.
func fillTable[E uint32 | uint64](table []E, n int, each func(yield func(hash uint32, entry E))) {
	const regionBits = 12
	mask := uint32(len(table) - 1)
	place := func(h uint32, entry E) {
		i := h & mask
		for table[i] != 0 {
			i = (i + 1) & mask
		}
		table[i] = entry
	}
	shift := max(0, bitsLen(mask)-regionBits)
	if n < 1<<16 || shift == 0 {
		each(place)
		return
	}
	var starts [1<<regionBits + 1]int
	each(func(h uint32, _ E) { starts[(h&mask)>>shift+1]++ })
	for r := 1; r < len(starts); r++ {
		starts[r] += starts[r-1]
	}
	// Each entry carries its hash, so the placing pass reads order sequentially.
	type placed struct {
		h uint32
		e E
	}
	order := make([]placed, n)
	each(func(h uint32, entry E) {
		r := (h & mask) >> shift
		order[starts[r]] = placed{h, entry}
		starts[r]++
	})
	for _, p := range order {
		place(p.h, p.e)
	}
}

func bitsLen(x uint32) int {
	n := 0
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}

// add counts n more for rule in customer ci's counter and returns the new count, or
// noRoom when the counter is new and the store full (nothing is counted).
// While s.deferIndex is set (a restore, whose counters are distinct) the counter is
// taken to be new and left out of the index, which the restore rebuilds at the end.
func (s *counterStore) add(ci int, rule uint32, n int64) int64 {
	if s.index.old != nil {
		// A move in progress goes on with every add, not only with insertions: until
		// it ends, a lookup of a counter not moved yet probes both tables.
		s.index.move(growSteps, s.cellEntryHash)
	}
	if !s.deferIndex {
		if j := s.cell(ci, rule); j >= 0 {
			c := s.cells.mut(int(j))
			c.n += n
			return c.n
		}
		if s.full() {
			return noRoom
		}
	}
	c := s.custs.mut(ci)
	cell := counterCell{rule: rule, next: c.head, n: n}
	var j int32
	if s.free >= 0 {
		j = s.free
		s.free = s.cells.at(int(j)).next
		*s.cells.mut(int(j)) = cell
	} else {
		if s.cells.len() >= math.MaxInt32 {
			panic("live: a partition's counter store outgrew 2^31 counters")
		}
		j = int32(s.cells.append(cell))
	}
	c.head = j
	c.n++
	s.live++
	if !s.deferIndex {
		s.indexNew(ci, c, j)
	}
	return n
}

// get is customer ci's count for rule (0 if none).
func (s *counterStore) get(ci int, rule uint32) int64 {
	if j := s.cell(ci, rule); j >= 0 {
		return s.cells.at(int(j)).n
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
	for ci := range s.custs.len() {
		for j := s.custs.at(ci).head; j >= 0; j = s.cells.at(int(j)).next {
			c := s.cells.at(int(j))
			fn(ci, c.rule, c.n)
		}
	}
}

// drop removes every counter of the rules for which gone is true. Customers left with
// none are forgotten once they are half the store's (compact): the customers of a
// deleted rule that no other rule counts would otherwise be kept until a restart, whose
// snapshot leaves them out, and each deleted customer's rule would leave its customer.
func (s *counterStore) drop(gone func(rule uint32) bool) {
	before := s.live
	defer func() {
		if s.live == before {
			return
		}
		if empty := s.custs.len() - s.customers(); empty > 0 && empty*2 >= s.custs.len() {
			s.compact()
			return
		}
		s.reindexCells(2) // linear probing cannot simply forget a cell
	}()
	for ci := range s.custs.len() {
		prev := int32(-1)
		for j := s.custs.at(ci).head; j >= 0; {
			next := s.cells.at(int(j)).next
			if gone(s.cells.at(int(j)).rule) {
				c := s.custs.mut(ci)
				c.n--
				if prev < 0 {
					c.head = next
				} else {
					s.cells.mut(int(prev)).next = next
				}
				*s.cells.mut(int(j)) = counterCell{next: s.free}
				s.free = j
				s.live--
			} else {
				prev = j
			}
			j = next
		}
	}
}

// compact rebuilds the store with only the customers that have counters, as a restore
// builds it, each customer's counters in the same order. Customer indexes change. A
// frozen view is left as it was: the store gets new chunks and names, and never writes
// the ones the view reads.
func (s *counterStore) compact() {
	customers, nameBytes := 0, 0
	for ci := range s.custs.len() {
		if c := s.custs.at(ci); c.head >= 0 {
			customers++
			nameBytes += int(c.len)
		}
	}
	fresh := newCounterStore()
	fresh.max, fresh.maxNames = s.max, s.maxNames
	fresh.sized(customers, s.live, nameBytes)
	fresh.deferIndex = true
	var cells []counterCell
	for ci := range s.custs.len() {
		c := s.custs.at(ci)
		if c.head < 0 {
			continue
		}
		cells = cells[:0]
		for j := c.head; j >= 0; j = s.cells.at(int(j)).next {
			cells = append(cells, *s.cells.at(int(j)))
		}
		nci := fresh.appendNew(s.nameBytes(ci))
		for k := len(cells) - 1; k >= 0; k-- { // add puts each at the head of the list
			fresh.add(nci, cells[k].rule, cells[k].n)
		}
	}
	fresh.deferIndex = false
	fresh.reindex()
	fresh.reindexCells(1)
	fresh.scratch = s.scratch
	*s = fresh
}

// footprint is the memory the store holds, in bytes.
func (s *counterStore) footprint() int {
	return s.names.footprint() + s.custs.footprint(int(unsafe.Sizeof(customerEntry{}))) +
		s.cells.footprint(int(unsafe.Sizeof(counterCell{}))) + s.slots.slots()*4 + s.index.slots()*8 + cap(s.scratch)
}

// customers is the number of customers with at least one counter.
func (s *counterStore) customers() int {
	n := 0
	for i := range s.custs.len() {
		if s.custs.at(i).head >= 0 {
			n++
		}
	}
	return n
}

// counterView is a frozen counterStore: what a snapshot encodes once the partition's
// lock is released (see chunked).
type counterView struct {
	names nameArena // append-only: the bytes a view covers never change
	custs chunkedView[customerEntry]
	cells chunkedView[counterCell]
}

// freeze returns a view of the counters as they are; the store copies what it changes
// from then on, until thaw.
func (s *counterStore) freeze() counterView {
	return counterView{names: s.names.frozen(), custs: s.custs.freeze(), cells: s.cells.freeze()}
}

// thaw ends the last freeze, once its view is no longer read.
func (s *counterStore) thaw() {
	s.custs.thaw()
	s.cells.thaw()
}
