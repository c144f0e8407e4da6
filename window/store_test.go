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

// check returns what is inconsistent in s's storage (store.go), or nil.
func (s *State) check() error {
	// Slots: the open ones and the free list make up the slab.
	free := map[uint32]bool{}
	for f := s.freeGroups; f != 0; f = s.group(f - 1).more {
		if free[f-1] || s.group(f-1).id != noID {
			return fmt.Errorf("free list: slot %d is open or listed twice", f-1)
		}
		free[f-1] = true
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
		if e&^mask != uint32(h)<<s.slotBits {
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
	// Windows: each group's in start order, counted, with sets for count_distinct,
	// listed for closing once under their start; the nodes are the groups' and the
	// free list's.
	nodes := map[ref]bool{}
	for _, f := range s.freeNodes {
		if nodes[f] {
			return fmt.Errorf("node %d freed twice", f)
		}
		nodes[f] = true
	}
	listed := map[[2]int64]int{}
	for i, e := range s.closing {
		if i < s.closeHead {
			if e.slots != nil {
				return fmt.Errorf("closed start %d still lists %d slots", e.start, len(e.slots))
			}
			continue
		}
		if i > s.closeHead && e.start <= s.closing[i-1].start {
			return fmt.Errorf("closing index out of order: %d after %d", e.start, s.closing[i-1].start)
		}
		if len(e.slots) == 0 {
			return fmt.Errorf("start %d listed without slots", e.start)
		}
		for _, slot := range e.slots {
			listed[[2]int64{int64(slot), e.start}]++
		}
	}
	if len(s.starts) != len(s.byStart) {
		return fmt.Errorf("%d starts in the heap for %d lists", len(s.starts), len(s.byStart))
	}
	inDeque := map[int64]bool{}
	for _, e := range s.closing[s.closeHead:] {
		inDeque[e.start] = true
	}
	for start, list := range s.byStart {
		if inDeque[start] || len(list) == 0 {
			return fmt.Errorf("start %d in the deque and the map, or without slots", start)
		}
		for _, slot := range list {
			listed[[2]int64{int64(slot), start}]++
		}
	}
	cells := 0
	for slot := range s.liveSlots() {
		var prev *cell
		for at, c := range s.windowsOf(slot) {
			cells++
			if at != refFirst {
				if nodes[at] {
					return fmt.Errorf("node %d is free and slot %d's", at, slot)
				}
				nodes[at] = true
			}
			if c.n() < 1 || prev != nil && c.start <= prev.start {
				return fmt.Errorf("slot %d: window at %d with %d events after %v", slot, c.start, c.n(), prev)
			}
			if s.distinct && s.set(slot, at) == nil {
				return fmt.Errorf("slot %d: window at %d without a value set", slot, c.start)
			}
			if s.size > 0 && listed[[2]int64{int64(slot), c.start}] != 1 {
				return fmt.Errorf("slot %d: window at %d listed %d times for closing", slot, c.start, listed[[2]int64{int64(slot), c.start}])
			}
			prev = c
		}
	}
	if len(nodes) != s.nodes.len() || cells != s.cells {
		return fmt.Errorf("%d windows (WindowCount %d), %d nodes reached of %d", cells, s.cells, len(nodes), s.nodes.len())
	}
	if s.size > 0 && len(listed) != cells || s.size == 0 && len(s.closing)+len(s.byStart) != 0 {
		return fmt.Errorf("%d windows listed for closing, %d open; %d starts listed", len(listed), cells, len(s.closing)-s.closeHead)
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
