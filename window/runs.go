package window

import (
	"iter"
	"maps"
	"math"
	"sort"
)

// A group's cells after its first are a run: cells side by side in start order, a
// slice of its own. A group has more than one cell when its events fell in different
// windows (a hopping window's events in different panes, windows past lateness); an
// event reads and writes its cells as one stretch of memory, where a list of cells
// would take a cache miss per cell. State.runs holds the runs by number, a group's
// record the number + 1, and freed numbers are reused first.
//
// A group may keep up to max_rule_open_windows cells (a long lateness), and an event
// must not cost in proportion to them. So a run is the cells head … len−1 of its array
// (State.runs[i] is the array from its first cell, of length head + the cells in use;
// State.runHead[i] is head): an event reads the count in use from the slice's length,
// and closing the oldest cells moves the head past them rather than the rest down. The
// cells before the head are dead. A run that must grow moves its cells back to the
// front of its array if that leaves an eighth more room than it needs, else to a new
// array a quarter larger than it needs: either way a move of n cells comes after at
// least n/8 new ones. A run whose cells in use fall below a quarter of its array moves
// to one their size, so that its memory follows its open windows (Go's allocator takes
// back the old one, and a group's run goes when the group does). Cells outside head …
// len−1 are never read, and count_distinct's sets there are nil, so that they are
// collected.

// runRef names a run: its number in State.runs + 1 (0: no run).
type runRef uint32

func (r runRef) index() uint32 { return uint32(r) - 1 }

// newRun returns a run with room for at least n cells, none in use.
func (s *State) newRun(n int) runRef {
	if n > 8 {
		n += n / 4
	}
	run := make([]cell, 0, n)
	var i uint32
	if k := len(s.freeRuns); k > 0 {
		i = s.freeRuns[k-1]
		s.freeRuns = s.freeRuns[:k-1]
		s.runs[i], s.runHead[i] = run, 0
	} else {
		if len(s.runs) >= math.MaxUint32-1 {
			panic("window: a state outgrew 2^32 runs") // 2^32 groups: out of memory long before
		}
		i = uint32(len(s.runs))
		s.runs = append(s.runs, run)
		s.runHead = append(s.runHead, 0)
		if s.distinct {
			s.runSetsOf = append(s.runSetsOf, nil)
		}
	}
	if s.distinct {
		s.runSetsOf[i] = make([]map[string]struct{}, 0, n)
	}
	return runRef(i + 1)
}

// runOf is the cells of run r in use.
func (s *State) runOf(r runRef) []cell {
	i := r.index()
	return s.runs[i][s.runHead[i]:]
}

// runSets is count_distinct's value sets of run r's cells in use.
func (s *State) runSets(r runRef) []map[string]struct{} {
	i := r.index()
	return s.runSetsOf[i][s.runHead[i]:]
}

// setUsed makes n of run r's cells, from its head, in use.
func (s *State) setUsed(r runRef, n int) {
	i := r.index()
	end := int(s.runHead[i]) + n
	s.runs[i] = s.runs[i][:end]
	if s.distinct {
		s.runSetsOf[i] = s.runSetsOf[i][:end]
	}
}

// freeRun drops run r.
func (s *State) freeRun(r runRef) {
	i := r.index()
	s.runs[i], s.runHead[i] = nil, 0
	if s.distinct {
		s.runSetsOf[i] = nil
	}
	s.freeRuns = append(s.freeRuns, i)
}

// windows is one group's cells, its record's first and its run's, by position: 0 is the
// first, j the run's cell j−1 from its head.
type windows struct {
	g    *group
	run  []cell // from the run's head to the end of its array
	n    int    // cells in use, the first included
	fs   *map[string]struct{}
	sets []map[string]struct{}
}

// windowsAt fills w with slot's cells. The pointers in it are valid until a group,
// run or set is added. A change of w.n is recorded in the run by used.
func (s *State) windowsAt(slot uint32, w *windows) {
	g := s.group(slot)
	*w = windows{g: g, n: 1}
	if g.more != 0 {
		// The run's cells from its head, to the end of its array: those in use, then
		// room.
		i := g.more.index()
		run, h := s.runs[i], s.runHead[i]
		w.run = run[h:cap(run)]
		w.n += len(run) - int(h)
		if s.distinct {
			sets := s.runSetsOf[i]
			w.sets = sets[h:cap(sets)]
		}
	}
	if s.distinct {
		w.fs = &s.firstSets[slot]
	}
}

// used records w.n, the cells in use, in w's run.
func (s *State) used(w *windows) {
	if w.g.more != 0 {
		s.setUsed(w.g.more, w.n-1)
	}
}

func (w *windows) cell(pos int) *cell {
	if pos == 0 {
		return &w.g.first
	}
	return &w.run[pos-1]
}

func (w *windows) set(pos int) *map[string]struct{} {
	if pos == 0 {
		return w.fs
	}
	return &w.sets[pos-1]
}

// move copies the window at position from to position to (sets included).
func (w *windows) move(to, from int) {
	*w.cell(to) = *w.cell(from)
	if w.fs != nil {
		*w.set(to) = *w.set(from)
	}
}

// A cell holds a stretch of consecutive windows with one history: the windows
// starting at start, start+every, … (span of them). An event's windows are
// consecutive; open splits the cells at their ends, so that each cell is either wholly
// among them or wholly not, and updates each cell once. Windows that saw the same
// events have the same aggregate, computed in the same order, so a cell stands for
// each of them exactly: a group with one event of a ten-minute window hopping every
// minute is one cell, not ten. (A running total is one cell of one window.)

// segEnd is the start of the window after c's last.
func (s *State) segEnd(c *cell) int64 { return c.start + c.span()*s.every }

// lastStart is the start of slot's last window.
func (s *State) lastStart(slot uint32) int64 {
	g := s.group(slot)
	c := &g.first
	if g.more != 0 {
		run := s.runOf(g.more)
		c = &run[len(run)-1]
	}
	return s.segEnd(c) - s.every
}

// closedStart reports whether the window starting at start has closed: its end at or
// below the watermark. A closed window may linger in its group's cells until trim or
// the group's end; every reader skips it.
func (s *State) closedStart(start int64) bool {
	return s.size > 0 && s.seen && start+s.size <= s.maxTime-s.late
}

// firstOpenStart is the start of the earliest window not closed.
func (s *State) firstOpenStart() int64 {
	return (floorDiv(s.maxTime-s.late-s.size, s.every) + 1) * s.every
}

// openWindow is one open window of a group: its start and the cell holding it.
type openWindow struct {
	start int64
	c     *cell
	set   map[string]struct{} // count_distinct
}

// windowsOf yields slot's open windows in start order.
func (s *State) windowsOf(slot uint32) iter.Seq[openWindow] {
	return func(yield func(openWindow) bool) {
		var w windows
		s.windowsAt(slot, &w)
		for pos := range w.n {
			c := w.cell(pos)
			var set map[string]struct{}
			if w.fs != nil {
				set = *w.set(pos)
			}
			for i := range c.span() {
				start := c.start + i*s.every
				if !s.closedStart(start) && !yield(openWindow{start, c, set}) {
					return
				}
			}
		}
	}
}

// trim drops slot's closed windows, which are at the front: the first cell holding an
// open one moves into the record, starting at its first open window, and the run's
// head moves past it. A group's last window is open (else it has gone), so one stays.
func (s *State) trim(slot uint32) {
	g := s.group(slot)
	if !s.closedStart(g.first.start) {
		return
	}
	var w windows
	s.windowsAt(slot, &w)
	d := 0
	for s.closedStart(s.segEnd(w.cell(d)) - s.every) {
		d++
	}
	if c := w.cell(d); s.closedStart(c.start) {
		first := s.firstOpenStart()
		c.setSpan(c.span() - (first-c.start)/s.every)
		c.start = first
	}
	if d == 0 {
		return
	}
	// Cell d goes to the record, and the run's head past it and the closed cells
	// before it: nothing else moves, and the run's length (head + in use) stays.
	w.move(0, d)
	if w.fs != nil {
		clear(w.sets[:d])
	}
	if w.n-d == 1 {
		s.freeRun(g.more)
		g.more = 0
		return
	}
	i := g.more.index()
	s.runHead[i] += uint32(d)
	w.run, w.n = w.run[d:], w.n-d
	if w.fs != nil {
		w.sets = w.sets[d:]
	}
	if c := cap(s.runs[i]); c > 8 && (w.n-1)*4 < c {
		s.moveRun(&w, w.n-1) // a quarter in use: to a run its size
	}
}

// open makes slot's cells hold the windows lo … hi (as window indexes: start/every),
// an event's, each cell wholly among them or not, and returns the cells and the
// positions p … q of those among them (w is filled with the cells, the state's own
// scratch in Add, so that nothing large is copied). A fresh group (just made by
// newGroup) has no cells yet. New windows are counted for closing, and a group whose last window is new
// is listed under its start (closing.go).
func (s *State) open(w *windows, slot uint32, lo, hi int64, fresh bool) (p, q int) {
	if fresh {
		g := s.group(slot)
		g.first = cell{start: lo * s.every}
		g.first.setSpan(hi - lo + 1)
		if s.distinct {
			s.firstSets[slot] = map[string]struct{}{}
		}
		e := s.openedRange(lo, hi)
		if e != nil {
			e.slots = append(e.slots, slot)
		}
		// Its cells are the record's one: made here rather than read back
		// (windowsAt), which would wait for the record's line to come in.
		*w = windows{g: g, n: 1}
		if s.distinct {
			w.fs = &s.firstSets[slot]
		}
		return 0, 0
	}
	s.windowsAt(slot, w)
	if s.size == 0 {
		return 0, 0
	}
	loS, endS := lo*s.every, (hi+1)*s.every
	oldEnd := s.segEnd(w.cell(w.n - 1))
	// One pass finds the cells p … q-1 that hold some of the event's windows,
	// splitting the first and last where they hold others too, and counts the gaps
	// between them (and before and after), which get a cell each.
	// The first cell ending after loS, found by halving: the cells are in order and
	// apart, and a group keeps up to max_rule_open_windows of them, which a scan from
	// the first walked for every event (quadratic over a run of them).
	p = sort.Search(w.n, func(i int) bool { return s.segEnd(w.cell(i)) > loS })
	if p < w.n && w.cell(p).start < loS {
		s.split(w, p, loS)
		p++
	}
	q = p
	gaps, next := 0, loS
	for q < w.n && w.cell(q).start < endS {
		c := w.cell(q)
		if c.start > next {
			gaps++
		}
		if next = s.segEnd(c); next > endS {
			s.split(w, q, endS)
			next = endS
		}
		q++
	}
	if next < endS {
		gaps++
	}
	if gaps > 0 {
		if need := w.n + gaps - 1; need > len(w.run) {
			s.growRun(w, need)
		}
		for pos := w.n - 1; pos >= q; pos-- {
			w.move(pos+gaps, pos)
		}
		// From the top down: each existing cell moves up to its place, never over one
		// not yet moved, and each gap below the last placed gets a new cell.
		to, src, end := q+gaps-1, q-1, endS
		for to >= p {
			below := loS
			if src >= p {
				below = s.segEnd(w.cell(src))
			}
			if below < end {
				c := w.cell(to)
				*c = cell{start: below}
				c.setSpan((end - below) / s.every)
				if w.fs != nil {
					*w.set(to) = map[string]struct{}{}
				}
				s.openedRange(below/s.every, end/s.every-1)
				end = below
			} else {
				if to != src {
					w.move(to, src)
				}
				end = w.cell(to).start
				src--
			}
			to--
		}
		w.n += gaps
		s.used(w)
		q += gaps
	}
	if endS > oldEnd {
		e := s.entry(hi * s.every)
		e.slots = append(e.slots, slot)
	}
	return p, q - 1
}

// split splits cell i, which holds windows before and from start x, in two.
func (s *State) split(w *windows, i int, x int64) {
	if w.n > len(w.run) {
		s.growRun(w, w.n)
	}
	for pos := w.n - 1; pos > i; pos-- {
		w.move(pos+1, pos)
	}
	c := w.cell(i)
	end := s.segEnd(c)
	tail := *c
	tail.start = x
	tail.setSpan((end - x) / s.every)
	c.setSpan((x - c.start) / s.every)
	*w.cell(i + 1) = tail
	if w.fs != nil {
		*w.set(i + 1) = maps.Clone(*w.set(i))
	}
	w.n++
	s.used(w)
}

// openedRange counts new windows starting at lo·every … hi·every and returns the
// closing index's entry of the last (nil for a running total). An event's windows
// are consecutive starts, mostly the deque's last ones: they are walked there from
// the first, rather than each looked up.
func (s *State) openedRange(lo, hi int64) *startList {
	s.cells += int(hi - lo + 1)
	if s.size == 0 {
		return nil
	}
	e := s.entry(lo * s.every)
	e.cells++
	i := s.hint
	for k := lo + 1; k <= hi; k++ {
		start := k * s.every
		if i >= s.closeHead && i+1 < len(s.closing) && s.closing[i+1].start == start {
			i++
			s.hint = i
			e = &s.closing[i]
		} else {
			e = s.entry(start)
			i = s.hint
		}
		e.cells++
	}
	return e
}

// growRun makes room for need cells in w's run: at the front of its array, if moving
// its cells there leaves an eighth more than need (the room its dead cells before the
// head held), else in a new run (moveRun).
func (s *State) growRun(w *windows, need int) {
	if r := w.g.more; r != 0 {
		i := r.index()
		if run := s.runs[i]; need+need/8 <= cap(run) {
			n, h := w.n-1, int(s.runHead[i])
			run = run[:cap(run)]
			copy(run, run[h:h+n])
			s.runs[i], s.runHead[i], w.run = run[:n], 0, run
			if s.distinct {
				sets := s.runSetsOf[i]
				sets = sets[:cap(sets)]
				copy(sets, sets[h:h+n])
				clear(sets[n : h+n]) // the cells' old places, now unused
				s.runSetsOf[i], w.sets = sets[:n], sets
			}
			return
		}
	}
	s.moveRun(w, need)
}

// moveRun moves the cells of w's run, if any, to a new run with room for at least
// need cells.
func (s *State) moveRun(w *windows, need int) {
	r := s.newRun(need)
	n := w.n - 1
	s.setUsed(r, n)
	copy(s.runOf(r), w.run[:n])
	if s.distinct {
		copy(s.runSets(r), w.sets[:n])
	}
	if w.g.more != 0 {
		s.freeRun(w.g.more)
	}
	i := r.index()
	w.g.more, w.run = r, s.runs[i][:cap(s.runs[i])]
	if s.distinct {
		w.sets = s.runSetsOf[i][:cap(s.runSetsOf[i])]
	}
}
