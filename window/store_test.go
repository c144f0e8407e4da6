package window

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// check returns what is inconsistent in s's storage (store.go, runs.go, closing.go),
// or nil.
func (s *State) check() error {
	// Slots: the open ones and the free stack make up the slab.
	free := map[uint32]bool{}
	for _, f := range s.freeSlots {
		if free[f] || s.group(f).id != noID {
			return fmt.Errorf("free slots: slot %d is open or listed twice", f)
		}
		free[f] = true
	}
	open := 0
	for range s.liveSlots() {
		open++
	}
	if open != s.live || open+len(free) != s.groups.len() {
		return fmt.Errorf("%d open slots and %d free of %d, live says %d", open, len(free), s.groups.len(), s.live)
	}
	// Ids: the open groups' and the garbage fill ids.
	used := 0
	for slot := range s.liveSlots() {
		used += uvarintLen(len(s.idOf(slot))) + len(s.idOf(slot))
	}
	if used+s.idGarbage != len(s.ids) {
		return fmt.Errorf("ids: %d bytes used and %d garbage of %d", used, s.idGarbage, len(s.ids))
	}
	// Table: one entry per open group, with its hash's bits, found from its home.
	entries := 0
	mask := s.slotMask()
	for i, e := range s.table {
		if e == 0 {
			continue
		}
		entries++
		slot := e&mask - 1
		if int(slot) >= s.groups.len() || s.group(slot).id == noID {
			return fmt.Errorf("table entry %d names slot %d, not open", i, slot)
		}
		h := s.hash(s.idOf(slot))
		if e&^mask != s.tagOf(h) {
			return fmt.Errorf("table entry %d has bits of another hash", i)
		}
		for j := s.home(h); j != i; j = (j + 1) % len(s.table) {
			if s.table[j] == 0 {
				return fmt.Errorf("table entry %d is after a gap from its home %d", i, s.home(h))
			}
		}
	}
	if entries != s.live || (s.live > 0 && s.live*4 > len(s.table)*3) {
		return fmt.Errorf("%d table entries of %d, %d groups", entries, len(s.table), s.live)
	}
	for slot := range s.liveSlots() {
		if got, ok := s.lookup(s.idOf(slot), s.hash(s.idOf(slot))); !ok || got != slot {
			return fmt.Errorf("lookup of slot %d's id = %d, %v", slot, got, ok)
		}
	}
	// Runs: each is a group's or free, its cells in use from its head to its length.
	runs := map[runRef]bool{}
	for _, i := range s.freeRuns {
		if runs[runRef(i+1)] || s.runs[i] != nil {
			return fmt.Errorf("run %d freed twice or still has cells", i)
		}
		runs[runRef(i+1)] = true
	}
	// Windows: each group's in start order, with events, sets for count_distinct,
	// closed ones only before open ones and never the last; the open ones counted
	// under their starts, and each group listed under its last start.
	perStart := map[int64]int{}
	listed := map[[2]int64]int{}
	cells := 0
	for slot := range s.liveSlots() {
		g := s.group(slot)
		if g.more != 0 {
			if runs[g.more] {
				return fmt.Errorf("slot %d: run %x is free or another group's", slot, g.more)
			}
			runs[g.more] = true
			i := g.more.index()
			run, h := s.runs[i], int(s.runHead[i])
			n := len(run) - h
			if n <= 0 || h < 0 {
				return fmt.Errorf("slot %d: run of %d cells from %d in use", slot, len(run), h)
			}
			if c := cap(run); c > 8 && n*4 < c {
				return fmt.Errorf("slot %d: run of %d cells with %d in use", slot, c, n)
			}
			if s.distinct {
				sets := s.runSetsOf[i]
				if len(sets) != len(run) || cap(sets) != cap(run) {
					return fmt.Errorf("slot %d: run of %d/%d cells has %d/%d sets", slot, len(run), cap(run), len(sets), cap(sets))
				}
				// Sets of cells in use, and none elsewhere (dead cells' sets are collected).
				for j, set := range sets[:cap(sets)] {
					if inUse := j >= h && j < len(run); inUse != (set != nil) {
						return fmt.Errorf("slot %d: run cell %d (in use %d to %d) has a set: %v", slot, j, h, len(run), !inUse)
					}
				}
			}
		}
		var w windows
		s.windowsAt(slot, &w)
		for pos := range w.n {
			c := w.cell(pos)
			if c.n() < 1 || pos > 0 && c.start < s.segEnd(w.cell(pos-1)) {
				return fmt.Errorf("slot %d: cell %d at %d (%d windows) with %d events", slot, pos, c.start, c.span(), c.n())
			}
			if s.distinct && *w.set(pos) == nil {
				return fmt.Errorf("slot %d: cell at %d without a value set", slot, c.start)
			}
			for start := c.start; start < s.segEnd(c) || start == c.start; start += max(s.every, 1) {
				if s.closedStart(start) {
					if pos == w.n-1 && start+s.every == s.segEnd(c) {
						return fmt.Errorf("slot %d: last window at %d closed", slot, start)
					}
					if start > c.start && !s.closedStart(start-s.every) || pos > 0 && start == c.start && !s.closedStart(s.segEnd(w.cell(pos-1))-s.every) {
						return fmt.Errorf("slot %d: window at %d closed after an open one", slot, start)
					}
					continue
				}
				cells++
				perStart[start]++
				if s.size == 0 {
					break
				}
			}
		}
		if s.size > 0 {
			listed[[2]int64{int64(slot), s.lastStart(slot)}]--
		}
	}
	if cells != s.cells {
		return fmt.Errorf("%d open windows, WindowCount %d", cells, s.cells)
	}
	if s.size == 0 {
		if len(s.closing)+len(s.byStart) != 0 {
			return fmt.Errorf("a running total has %d starts listed", len(s.closing)+len(s.byStart))
		}
		return nil
	}
	visit := func(e *startList) error {
		if e.cells != perStart[e.start] {
			return fmt.Errorf("start %d: %d windows counted, %d open", e.start, e.cells, perStart[e.start])
		}
		delete(perStart, e.start)
		for _, slot := range e.slots {
			k := [2]int64{int64(slot), e.start}
			if listed[k] > 0 {
				return fmt.Errorf("slot %d listed twice under %d", slot, e.start)
			}
			listed[k]++
		}
		return nil
	}
	for i := range s.closing {
		e := &s.closing[i]
		if i < s.closeHead {
			if e.slots != nil || e.cells != 0 {
				return fmt.Errorf("closed start %d still lists %d slots, %d windows", e.start, len(e.slots), e.cells)
			}
			continue
		}
		if i > s.closeHead && e.start <= s.closing[i-1].start {
			return fmt.Errorf("closing index out of order: %d after %d", e.start, s.closing[i-1].start)
		}
		if err := visit(e); err != nil {
			return err
		}
	}
	if len(s.starts) != len(s.byStart) {
		return fmt.Errorf("%d starts in the heap for %d lists", len(s.starts), len(s.byStart))
	}
	inDeque := map[int64]bool{}
	for _, e := range s.closing[s.closeHead:] {
		inDeque[e.start] = true
	}
	for start, e := range s.byStart {
		if inDeque[start] || e.start != start {
			return fmt.Errorf("start %d in the deque and the map, or under another start", start)
		}
		if err := visit(e); err != nil {
			return err
		}
	}
	for start, n := range perStart {
		return fmt.Errorf("%d open windows at %d not in the closing index", n, start)
	}
	for k, n := range listed {
		// Each open group is listed under its last start (n = 0); other listings are
		// of groups whose last window moved on (n = 1, open slot, later last start).
		if n < 0 || n == 1 && s.group(uint32(k[0])).id != noID && s.lastStart(uint32(k[0])) <= k[1] {
			return fmt.Errorf("slot %d: listed %d times under %d", k[0], n+1, k[1])
		}
	}
	return nil
}

// TestStoreInvariants drives states through many groups opening and closing, in and
// out of order, with restarts, and checks their storage after every step, and that the
// paths of the storage's upkeep were all taken.
func TestStoreInvariants(t *testing.T) {
	events := 20000
	if testing.Short() {
		events = 5000
	}
	took := map[string]int{}
	for i, tc := range []struct {
		fields string
		jitter int // ms: events' times are up to this far behind the newest
	}{
		{`"group_by":["$.g"],"window":{"size":"1s"},"threshold":3`, 0},
		{`"group_by":["$.g"],"window":{"size":"1s"},"lateness":"500ms","threshold":3`, 2000},
		{`"aggregate":{"fn":"sum","path":"$.v"},"group_by":["$.g"],"window":{"size":"4s","every":"1s"},"lateness":"3s","threshold":5`, 2000},
		{`"aggregate":{"fn":"count_distinct","path":"$.v"},"group_by":["$.g"],"window":{"size":"2s","every":"500ms"},"lateness":"1s","threshold":3`, 2000},
		{`"aggregate":{"fn":"max","path":"$.v"},"group_by":["$.g"],"threshold":3`, 2000},
	} {
		fields := tc.fields
		r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$","op":"exists"},` + fields + `}`))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		s := New(r, Limits{MaxGroups: 3000})
		doc := jsonpath.NewDocument()
		var now int64
		for n := range events {
			now += int64(rng.IntN(5))
			// Bursts of new groups, and groups of every id length.
			g := rng.IntN(40)
			if n%2000 < 600 {
				g = rng.IntN(5000)
			}
			text := fmt.Sprintf(`{"g":"%d%s","v":%d}`, g, bytes.Repeat([]byte("x"), g%150), rng.IntN(9))
			if err := doc.Reset([]byte(text)); err != nil {
				t.Fatal(err)
			}
			groups, garbage, table := s.live, s.idGarbage, len(s.table)
			s.Add(&Event{Customer: fmt.Sprint("c", g%3), Doc: doc, Time: time.UnixMilli(now - int64(rng.IntN(tc.jitter+1)))}, func(Crossing) {})
			switch {
			case s.idGarbage < garbage && s.live >= groups:
				took["ids compacted"]++
			case s.live < groups/2:
				took["most groups closed at once"]++
			case s.live < groups:
				took["groups closed"]++
			}
			if len(s.table) > table {
				took["table grown"]++
			}
			if n%97 == 0 || s.live < groups {
				if err := s.check(); err != nil {
					t.Fatalf("%s: event %d: %v", fields, n, err)
				}
			}
			if n%4999 == 0 {
				dec, _, err := Decode(r, s.lim, s.AppendTo(nil))
				if err != nil {
					t.Fatal(err)
				}
				if err := dec.check(); err != nil {
					t.Fatalf("%s: decoded at event %d: %v", fields, n, err)
				}
				s = dec
			}
		}
	}
	for _, path := range []string{"most groups closed at once", "groups closed", "ids compacted", "table grown"} {
		if took[path] == 0 {
			t.Errorf("no event took the path %q: %v", path, took)
		}
	}
}

// TestIDBytesLimit checks that a state whose group ids reach maxIDBytes refuses new
// groups as beyond its group limit, counted and degraded, and takes them again once
// closed groups' ids are dropped.
func TestIDBytesLimit(t *testing.T) {
	defer func(v uint64) { maxIDBytes = v }(maxIDBytes)
	maxIDBytes = 100
	r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$","op":"exists"},"group_by":["$.g"],"window":{"size":"1s","every":"500ms"},"threshold":9}`))
	if err != nil {
		t.Fatal(err)
	}
	s := New(r, Limits{})
	doc := jsonpath.NewDocument()
	add := func(g string, ms int64) {
		if err := doc.Reset(fmt.Appendf(nil, `{"g":%q}`, g)); err != nil {
			t.Fatal(err)
		}
		s.Add(&Event{Customer: "c", Doc: doc, Time: time.UnixMilli(ms)}, func(Crossing) {})
		if err := s.check(); err != nil {
			t.Fatalf("group %s at %d: %v", g, ms, err)
		}
	}
	// Ids of 1 + 1 + "c" + 's', length, 20 bytes: 25 bytes each, 4 in 100.
	for i := range 5 {
		add(fmt.Sprintf("%020d", i), 100)
	}
	if s.live != 4 || s.stats.GroupsDropped != 1 || s.Degraded() == "" {
		t.Fatalf("%d groups, %d dropped (%q); want 4 and 1", s.live, s.stats.GroupsDropped, s.Degraded())
	}
	// Two groups go on to the next window; then the first windows close, freeing
	// the other two, whose ids make room for new groups.
	add(fmt.Sprintf("%020d", 0), 700)
	add(fmt.Sprintf("%020d", 1), 700)
	add(fmt.Sprintf("%020d", 9), 1100)
	if s.live != 2 {
		t.Fatalf("%d groups after the first windows closed, want 2", s.live)
	}
	add(fmt.Sprintf("%020d", 7), 1100)
	add(fmt.Sprintf("%020d", 8), 1100)
	if s.live != 4 || s.stats.GroupsDropped != 2 {
		t.Errorf("%d groups, %d dropped; want 4 and 2", s.live, s.stats.GroupsDropped)
	}
	got := []string{}
	for _, w := range s.Windows("") {
		got = append(got, string(w.Group[2:]))
	}
	slices.Sort(got)
	got = slices.Compact(got)
	want := []string{fmt.Sprintf("%020d", 0), fmt.Sprintf("%020d", 1), fmt.Sprintf("%020d", 7), fmt.Sprintf("%020d", 8)}
	if !slices.Equal(got, want) {
		t.Errorf("groups %q, want %q", got, want)
	}
}

// TestManyWindowsPerGroup holds a group with hundreds of open windows of different
// values (a long lateness keeps them open), its run grown many times, through decoding
// and closing.
func TestManyWindowsPerGroup(t *testing.T) {
	for _, agg := range []string{`{"fn":"sum","path":"$.v"}`, `{"fn":"count_distinct","path":"$.v"}`} {
		r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$","op":"exists"},"aggregate":` + agg +
			`,"group_by":["$.g"],"window":{"size":"1s"},"lateness":"1h","threshold":1e9}`))
		if err != nil {
			t.Fatal(err)
		}
		s := New(r, Limits{})
		doc := jsonpath.NewDocument()
		add := func(ms int64, v int) {
			if err := doc.Reset(fmt.Appendf(nil, `{"g":"a","v":%d}`, v)); err != nil {
				t.Fatal(err)
			}
			s.Add(&Event{Customer: "c", Doc: doc, Time: time.UnixMilli(ms)}, func(Crossing) {})
		}
		const n = 500
		for i := range n {
			add(int64(i)*1000, i)
		}
		if err := s.check(); err != nil {
			t.Fatal(err)
		}
		if g := s.group(0); s.live != 1 || s.cells != n || g.more == 0 || len(s.runOf(g.more)) < n-1 {
			t.Fatalf("%s: %d groups, %d windows, run %x; want 1, %d and a run", agg, s.live, s.cells, g.more, n)
		}
		dec, _, err := Decode(r, s.lim, s.AppendTo(nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := dec.check(); err != nil {
			t.Fatalf("%s: decoded: %v", agg, err)
		}
		if string(dec.AppendTo(nil)) != string(s.AppendTo(nil)) {
			t.Fatalf("%s: the decoded state encodes differently", agg)
		}
		// An event an hour and a half on closes every window but its own; the closed
		// ones stay in the group's cells until it is next touched.
		later := int64(n)*1000 + 90*60_000
		add(later, 1)
		if err := s.check(); err != nil {
			t.Fatal(err)
		}
		if s.live != 1 || s.cells != 1 || len(s.Windows("")) != 1 {
			t.Fatalf("%s: %d groups, %d windows after the old ones closed, want 1 and 1", agg, s.live, s.cells)
		}
		add(later+1, 2)
		if err := s.check(); err != nil {
			t.Fatal(err)
		}
		if s.live != 1 || s.cells != 1 || s.group(0).more != 0 || len(s.freeRuns) != len(s.runs) {
			t.Fatalf("%s: %d groups, %d windows, run %x, %d of %d runs free: want the closed cells dropped",
				agg, s.live, s.cells, s.group(0).more, len(s.freeRuns), len(s.runs))
		}
	}
}

// TestIDsShrinkAfterBurst checks that ids, grown by a burst of groups, goes back to a
// size near what it keeps once they have closed.
func TestIDsShrinkAfterBurst(t *testing.T) {
	defer func(v int) { shrinkIDsAbove = v }(shrinkIDsAbove)
	shrinkIDsAbove = 1024
	r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$","op":"exists"},"group_by":["$.g"],"window":{"size":"1s"},"threshold":9}`))
	if err != nil {
		t.Fatal(err)
	}
	s := New(r, Limits{})
	doc := jsonpath.NewDocument()
	add := func(g int, ms int64) {
		if err := doc.Reset(fmt.Appendf(nil, `{"g":"%030d"}`, g)); err != nil {
			t.Fatal(err)
		}
		s.Add(&Event{Customer: "c", Doc: doc, Time: time.UnixMilli(ms)}, func(Crossing) {})
	}
	for g := range 1000 {
		add(g, 0)
	}
	burst := cap(s.ids)
	// The burst's window closes; a few groups a window follow, until ids is full.
	for ms, g := int64(1000), 0; cap(s.ids) == burst; g++ {
		add(g, ms)
		if g%3 == 2 {
			ms += 1000
		}
	}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	if keep := len(s.ids) - s.idGarbage; cap(s.ids) > burst/10 || s.live > 6 {
		t.Errorf("ids of %d bytes for %d groups (%d bytes), after a burst of %d bytes", cap(s.ids), s.live, keep, burst)
	}
}
