package window

import "slices"

// Frozen is a state as it was when State.Freeze copied it, to be encoded after
// (Frozen.Draft) while the state goes on changing. The live daemon freezes its window
// states under a partition's lock and encodes them off it: a copy of a state's records
// is a memory copy, a tenth of the time of encoding them (BenchmarkAppendTo: 100,000
// groups). A Frozen owns its copies and reuses them at the next Freeze, so that the
// copy under the lock seldom allocates.
//
// count_distinct's value sets are maps, which no flat copy takes: such a state is
// drafted whole under the lock, and only ordered after.
type Frozen struct {
	// shell is a State over the copies, with what drafting reads: the window scalars
	// and the records, ids, runs and samples.
	shell State
	flat  []group   // the slab's pages, back to back
	pages [][]group // flat, cut as the slab's pages
	runs  [][]cell
	cells []cell // the runs' cells, back to back
	d     Draft
	ready bool // d is drafted whole (count_distinct)
}

// Freeze copies s into f, replacing what f held.
func (s *State) Freeze(f *Frozen) {
	s.draftHead(&f.d)
	if s.distinct {
		s.draftGroups(&f.d)
		f.ready = true
		return
	}
	f.ready = false
	sh := &f.shell
	*sh = State{size: s.size, every: s.every, late: s.late, maxTime: s.maxTime, seen: s.seen, agg: s.agg,
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

	n := 0
	for _, run := range s.runs {
		n += len(run)
	}
	f.cells = slices.Grow(f.cells[:0], n)
	for _, run := range s.runs {
		f.cells = append(f.cells, run...)
	}
	f.runs = f.runs[:0]
	at = 0
	for _, run := range s.runs {
		var r []cell // nil for a dropped run, as in s
		if run != nil {
			r = f.cells[at : at+len(run) : at+len(run)]
		}
		f.runs = append(f.runs, r)
		at += len(run)
	}
	sh.runs = f.runs
}

// Draft drafts the frozen state's encoding (see Draft), valid until the next Freeze.
func (f *Frozen) Draft() *Draft {
	if !f.ready {
		f.shell.draftGroups(&f.d)
		f.ready = true
	}
	return &f.d
}
