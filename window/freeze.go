package window

import (
	"bytes"
	"encoding/binary"
	"slices"
)

// Frozen is a state as it was when State.Freeze copied it, to be encoded after
// (Frozen.Draft) while the state goes on changing. The live daemon freezes its window
// states under a partition's lock and encodes them off it: a copy of a state's records
// is a memory copy, a twentieth of the time of encoding them (BenchmarkAppendTo:
// 100,000 groups). count_distinct's value sets, maps, are copied as their values back to
// back, unsorted: the sort that makes the encoding deterministic is the draft's, off the
// lock. A Frozen owns its copies and reuses them at the next Freeze, so that the copy
// under the lock seldom allocates.
type Frozen struct {
	// shell is a State over the copies, with what drafting reads: the window scalars
	// and the records, ids, runs, samples and value sets.
	shell State
	flat  []group   // the slab's pages, back to back
	pages [][]group // flat, cut as the slab's pages
	runs  [][]cell
	heads []uint32 // the runs' heads: 0, as only their cells in use are copied
	cells []cell   // the runs' cells in use, back to back
	sets  frozenSets
	d     Draft
	ready bool // d is drafted
}

// frozenSets are count_distinct's value sets of a Frozen: first[slot] is a group's
// first cell's, runs[run][cell] its run's, each values' entries in vals.
type frozenSets struct {
	vals  []byte // each value as a uvarint length and its bytes, sets back to back
	first []setRef
	runs  [][]setRef
	refs  []setRef // runs' refs, back to back
	// scratch is the values of the set being encoded, for sorting.
	scratch [][]byte
}

// setRef is a frozen set: n values from vals[at:].
type setRef struct{ at, n int }

// Freeze copies s into f, replacing what f held.
func (s *State) Freeze(f *Frozen) {
	s.draftHead(&f.d)
	f.ready = false
	sh := &f.shell
	*sh = State{size: s.size, every: s.every, late: s.late, maxTime: s.maxTime, seen: s.seen, agg: s.agg, live: s.live,
		ids: append(sh.ids[:0], s.ids...), recent: append(sh.recent[:0], s.recent...)}

	// Every page of the slab but the last is full, so the copy is one slice, cut into
	// pages again.
	f.flat = slices.Grow(f.flat[:0], s.groups.n)
	for _, page := range s.groups.pages {
		f.flat = append(f.flat, page...)
	}
	f.pages = f.pages[:0]
	at := 0
	for _, page := range s.groups.pages {
		f.pages = append(f.pages, f.flat[at:at+len(page):at+len(page)])
		at += len(page)
	}
	sh.groups = slab[group]{pages: f.pages, n: s.groups.n}

	// A run's cells in use only, from its head: the shell's heads are 0.
	n := 0
	for i, run := range s.runs {
		n += len(run) - int(s.runHead[i])
	}
	f.cells = slices.Grow(f.cells[:0], n)
	for i, run := range s.runs {
		f.cells = append(f.cells, run[s.runHead[i]:]...)
	}
	f.runs = f.runs[:0]
	at = 0
	for i, run := range s.runs {
		var r []cell // nil for a dropped run, as in s
		if run != nil {
			k := len(run) - int(s.runHead[i])
			r = f.cells[at : at+k : at+k]
			at += k
		}
		f.runs = append(f.runs, r)
	}
	sh.runs = f.runs
	f.heads = slices.Grow(f.heads[:0], len(s.runs))[:len(s.runs)]
	clear(f.heads)
	sh.runHead = f.heads
	if s.distinct {
		f.sets.freeze(s)
		sh.fsets = &f.sets
	}
}

// freeze copies s's value sets.
func (fs *frozenSets) freeze(s *State) {
	fs.vals = fs.vals[:0]
	fs.first = fs.first[:0]
	for _, set := range s.firstSets {
		fs.first = append(fs.first, fs.copySet(set))
	}
	// A run's sets of cells in use only, from its head, as its cells (State.Freeze).
	n := 0
	for i, sets := range s.runSetsOf {
		n += len(sets) - int(s.runHead[i])
	}
	fs.refs = slices.Grow(fs.refs[:0], n)
	for i, sets := range s.runSetsOf {
		for _, set := range sets[s.runHead[i]:] {
			fs.refs = append(fs.refs, fs.copySet(set))
		}
	}
	fs.runs = fs.runs[:0]
	at := 0
	for i, sets := range s.runSetsOf {
		k := len(sets) - int(s.runHead[i])
		fs.runs = append(fs.runs, fs.refs[at:at+k:at+k])
		at += k
	}
}

func (fs *frozenSets) copySet(set map[string]struct{}) setRef {
	ref := setRef{at: len(fs.vals), n: len(set)}
	for v := range set {
		fs.vals = binary.AppendUvarint(fs.vals, uint64(len(v)))
		fs.vals = append(fs.vals, v...)
	}
	return ref
}

// appendSorted appends set ref's count and values in AppendTo's order (by bytes).
func (fs *frozenSets) appendSorted(b []byte, ref setRef) []byte {
	vals, rest := fs.scratch[:0], fs.vals[ref.at:]
	for range ref.n {
		n, w := binary.Uvarint(rest)
		vals = append(vals, rest[:w+int(n)])
		rest = rest[w+int(n):]
	}
	// Each entry starts with its length: compare what follows.
	slices.SortFunc(vals, func(a, b []byte) int { return bytes.Compare(skipLen(a), skipLen(b)) })
	b = binary.AppendUvarint(b, uint64(ref.n))
	for _, v := range vals {
		b = append(b, v...)
	}
	fs.scratch = vals
	return b
}

func skipLen(entry []byte) []byte {
	_, w := binary.Uvarint(entry)
	return entry[w:]
}

// Draft drafts the frozen state's encoding (see Draft), valid until the next Freeze.
func (f *Frozen) Draft() *Draft {
	if !f.ready {
		f.shell.draftGroups(&f.d)
		f.ready = true
	}
	return &f.d
}
