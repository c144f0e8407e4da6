package live

// probeTable is an open-addressing hash table of nonzero entries (linear probing,
// 0 empty) that grows without a stall. Past a load of 3/4 it allocates a table twice
// the size and moves the old table's entries into it a few slots at a time, with each
// insertion (growSteps), while lookups search the new table and then the old one. A
// table rebuilt whole on the event path held its partition for over 100 ms at a few
// hundred thousand counters (the latency benchmark, a new customer per event), and
// the stall grows with the table.
//
// An entry moved stays in the old table too, so a lookup finds it in either; entries
// are never removed one by one: a caller that drops entries rebuilds (fill).
type probeTable[E uint32 | uint64] struct {
	cur []E
	n   int // entries placed in cur
	// old is the previous table, moved into cur from oldAt on (nil: none).
	old   []E
	oldAt int
}

// growSteps is how many of the old table's slots an insertion moves. The new table
// has twice the slots of the old, which held at most 3/4 of its own: it takes at
// least 3/4·len(old) insertions to fill past 3/4 again, and len(old)/growSteps to empty
// the old table, so a move is always finished before the next one starts.
const growSteps = 16

// find returns the entry at hash h that match accepts. (The counters' own lookup, once
// per matched rule, probes cur and old itself, without the call through match.)
func (t *probeTable[E]) find(h uint32, match func(E) bool) (E, bool) {
	if e, ok := probeFind(t.cur, h, match); ok {
		return e, true
	}
	if t.old != nil {
		return probeFind(t.old, h, match)
	}
	return 0, false
}

func probeFind[E uint32 | uint64](table []E, h uint32, match func(E) bool) (E, bool) {
	if len(table) == 0 {
		return 0, false
	}
	mask := uint32(len(table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := table[i]
		if e == 0 {
			return 0, false
		}
		if match(e) {
			return e, true
		}
	}
}

// insert places e, which is not in the table, at hash h; hashOf gives an entry's hash,
// for the entries moved meanwhile.
func (t *probeTable[E]) insert(h uint32, e E, hashOf func(E) uint32) {
	t.move(growSteps, hashOf)
	if (t.n+1)*4 > len(t.cur)*3 {
		t.move(len(t.old), hashOf) // never left by the arithmetic of growSteps; kept exact all the same
		t.old, t.oldAt = t.cur, 0
		t.cur, t.n = make([]E, max(16, 2*len(t.cur))), 0
		if t.old != nil && len(t.old) == 0 {
			t.old = nil
		}
	}
	probePlace(t.cur, h, e)
	t.n++
}

// move moves up to steps slots of the old table into cur.
func (t *probeTable[E]) move(steps int, hashOf func(E) uint32) {
	for ; steps > 0 && t.old != nil; steps-- {
		if e := t.old[t.oldAt]; e != 0 {
			probePlace(t.cur, hashOf(e), e)
			t.n++
		}
		if t.oldAt++; t.oldAt == len(t.old) {
			t.old, t.oldAt = nil, 0
		}
	}
}

func probePlace[E uint32 | uint64](table []E, h uint32, e E) {
	mask := uint32(len(table) - 1)
	i := h & mask
	for table[i] != 0 {
		i = (i + 1) & mask
	}
	table[i] = e
}

// fill replaces the table with one of slots slots (a power of two, 0: none) holding
// the n entries each yields, at once: for a restore, and after entries were dropped.
func (t *probeTable[E]) fill(slots, n int, each func(yield func(hash uint32, entry E))) {
	t.old, t.oldAt = nil, 0
	if cap(t.cur) >= slots {
		t.cur = t.cur[:slots]
		clear(t.cur)
	} else {
		t.cur = make([]E, slots)
	}
	t.n = n
	if n > 0 {
		fillTable(t.cur, n, each)
	}
}

// slots is the slots the table holds, the old one's included.
func (t *probeTable[E]) slots() int { return cap(t.cur) + cap(t.old) }
