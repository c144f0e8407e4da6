package window

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// Limits bound one State's memory; a rule's rule.RuleLimits override them.
type Limits struct {
	// MaxGroups is the most open groups (customer, group values) one rule keeps per
	// partition. Default 100,000.
	MaxGroups int64
	// MaxDistinct is the most distinct values one count_distinct window keeps.
	// Default 10,000.
	MaxDistinct int64
}

// DefaultLimits are the evaluator's limits unless its flags say otherwise.
var DefaultLimits = Limits{MaxGroups: 100_000, MaxDistinct: 10_000}

// EnsureDefaults fills zero limits from DefaultLimits.
func (l Limits) EnsureDefaults() Limits {
	if l.MaxGroups <= 0 {
		l.MaxGroups = DefaultLimits.MaxGroups
	}
	if l.MaxDistinct <= 0 {
		l.MaxDistinct = DefaultLimits.MaxDistinct
	}
	return l
}

// For is l with r's overrides.
func (l Limits) For(r *rule.Rule) Limits {
	l = l.EnsureDefaults()
	if o := r.Limits; o != nil {
		if o.MaxGroups > 0 {
			l.MaxGroups = o.MaxGroups
		}
		if o.MaxDistinct > 0 {
			l.MaxDistinct = o.MaxDistinct
		}
	}
	return l
}

// Event is what Add needs of one event the rule's condition matched.
type Event struct {
	Customer string
	Doc      *jsonpath.Document
	// Time is the record timestamp, the event time of a rule without time path.
	Time time.Time
}

// Crossing is a window's aggregate passing the rule's threshold: what its alert says.
type Crossing struct {
	Customer string
	// Group is the group's canonical key (AppendValueKey of each group_by value); empty without group_by. It
	// aliases the state's scratch space: valid during the callback only, so a
	// caller that keeps it copies it (as Replay does).
	Group []byte
	// Windowed is false for a running total; Start and End are then zero.
	Windowed   bool
	Start, End int64 // Unix milliseconds, [Start, End)
	Count      int64
	Value      float64
}

// Stats are a State's counters of what it did not count or keep.
type Stats struct {
	// Late counts events below the watermark; TimeErrors events without a usable time.
	Late, TimeErrors uint64
	// GroupsDropped counts contributions to new groups refused at MaxGroups;
	// DistinctDropped new distinct values refused at MaxDistinct; Overflows sums that
	// would have overflowed float64.
	GroupsDropped, DistinctDropped, Overflows uint64
}

// State is one rule version's windows in one partition (see the package comment).
type State struct {
	r     *rule.Rule
	lim   Limits
	fn    string
	size  int64 // ms; 0: running total
	every int64
	late  int64 // lateness, ms
	// distinct is fn == count_distinct: windows have value sets (firstSets, nodeSets).
	distinct bool

	seen    bool
	maxTime int64 // largest event time of a matched event, if seen

	// The groups and their windows, stored as store.go says.
	groups     slab[group]
	freeGroups uint32 // first free slot + 1, 0: none
	live       int    // open groups
	nodes      slab[cellNode]
	freeNodes  []ref // the free nodes, a stack (see newNode)
	ids        []byte
	idGarbage  int // bytes of ids of freed groups
	table      []uint32
	slotBits   uint
	seed       maphash.Seed
	firstSets  []map[string]struct{}
	nodeSets   []map[string]struct{}

	// The closing index lists, per open window start, the slots of the groups holding
	// it, so that windows close in start order. Most new starts are the latest: those
	// are closing[closeHead:], a deque in start order (the entries before closeHead
	// are closed ones, dropped now and then), where finding or adding one costs next to
	// nothing; hint is the entry of the last start looked up, as an event's windows
	// have consecutive starts. A start opened out of order, before the deque's last
	// and not in it, goes to byStart, with starts a heap of its keys, so that no
	// stream makes the index cost more than a heap's O(log n) a start. No start is in
	// both. spare is the list of the last start closed, kept for the next one (one
	// list at a time is the usual case: tumbling windows).
	closing   []startList
	closeHead int
	hint      int
	byStart   map[int64][]uint32
	starts    startHeap
	spare     []uint32
	cells     int
	touched   uint64 // closeWindows's reads, kept so that they are not optimized away

	stats Stats

	keyBuf  []byte
	distBuf []byte
	vals    []jsonpath.Value
}

// cell is one window's aggregate: 24 bytes, so that an open window costs little.
type cell struct {
	start int64
	v     float64 // sum (sum, avg), min, max; unused for count and count_distinct
	// nf is the number of contributing events times two, plus firedBit once the
	// window alerted: one word for both.
	nf uint64
}

const (
	firedBit = 1 // in cell.nf: the window alerted
	oneEvent = 2 // cell.nf's increment for one contributing event
	// maxCount bounds a decoded count, so that it fits in nf; no stream reaches it.
	maxCount = 1 << 62
)

// n is the number of contributing events.
func (c *cell) n() int64 { return int64(c.nf >> 1) }

// alerted reports whether the window crossed the threshold.
func (c *cell) alerted() bool { return c.nf&firedBit != 0 }

// New returns the empty state of rule r (a validated rule) under limits lim.
func New(r *rule.Rule, lim Limits) *State {
	s := &State{r: r, lim: lim.For(r), fn: r.Aggregate.Fn, late: time.Duration(r.Lateness).Milliseconds(),
		distinct: r.Aggregate.Fn == rule.AggCountDistinct, seed: maphash.MakeSeed()}
	if r.Window != nil {
		s.size = time.Duration(r.Window.Size).Milliseconds()
		s.every = time.Duration(r.Window.Every).Milliseconds()
	}
	return s
}

// Rule is the rule version the state belongs to.
func (s *State) Rule() *rule.Rule { return s.r }

// Stats are the state's counters.
func (s *State) Stats() Stats { return s.stats }

// GroupCount is the number of open groups; WindowCount the number of open (group,
// window) cells.
func (s *State) GroupCount() int  { return s.live }
func (s *State) WindowCount() int { return s.cells }

// Watermark is the current watermark in Unix ms (ok false before any event time).
func (s *State) Watermark() (ms int64, ok bool) { return s.maxTime - s.late, s.seen }

// Degraded says why the state's figures are lower bounds ("" when they are exact).
func (s *State) Degraded() string {
	st := s.stats
	switch {
	case st.GroupsDropped > 0:
		return fmt.Sprintf("group limit %d reached: %d contributions to new groups not counted", s.lim.MaxGroups, st.GroupsDropped)
	case st.DistinctDropped > 0:
		return fmt.Sprintf("distinct value limit %d reached: %d new values not counted", s.lim.MaxDistinct, st.DistinctDropped)
	case st.Overflows > 0:
		return fmt.Sprintf("%d values not added: the sum would overflow float64", st.Overflows)
	}
	return ""
}

// Add evaluates one event the rule's condition matched, calling cross for each window
// it takes across the threshold.
func (s *State) Add(ev *Event, cross func(Crossing)) {
	if s.size == 0 {
		// A running total has no event time: nothing is late, and it never closes.
		s.contribute(ev, 0, cross)
		return
	}
	t, ok := s.eventTime(ev)
	if !ok {
		s.stats.TimeErrors++
		return
	}
	if s.seen && t < s.maxTime-s.late {
		s.stats.Late++
		return
	}
	s.contribute(ev, t, cross)
	if !s.seen || t > s.maxTime {
		s.seen, s.maxTime = true, t
		s.closeUpTo(t - s.late)
	}
}

// contribute adds the event at time t to its group's windows.
func (s *State) contribute(ev *Event, t int64, cross func(Crossing)) {
	var num float64
	switch s.fn {
	case rule.AggCount:
	case rule.AggCountDistinct:
		s.vals = s.r.AggregatePath().Eval(ev.Doc, s.vals[:0])
		if len(s.vals) == 0 {
			return
		}
		s.distBuf = AppendValueKey(s.distBuf[:0], s.vals[0])
	default:
		s.vals = s.r.AggregatePath().Eval(ev.Doc, s.vals[:0])
		found := false
		for _, v := range s.vals {
			if v.Kind() == jsonpath.KindNumber {
				if f := v.Num(); !math.IsInf(f, 0) {
					num, found = f, true
					break
				}
			}
		}
		if !found {
			return
		}
	}
	lo, hi := int64(0), int64(0)
	if s.size > 0 {
		hi = floorDiv(t, s.every)
		lo = floorDiv(t-s.size, s.every) + 1
	}
	// The group's id: the length of the customer (uvarint), the customer, then the
	// canonical group key, so that no customer and group can run into another's.
	s.keyBuf = binary.AppendUvarint(s.keyBuf[:0], uint64(len(ev.Customer)))
	s.keyBuf = append(s.keyBuf, ev.Customer...)
	split := len(s.keyBuf)
	s.keyBuf = s.appendGroupKey(s.keyBuf, ev)
	slot, h, ok := s.find(s.keyBuf)
	if !ok {
		if int64(s.live) < s.lim.MaxGroups {
			slot, ok = s.newGroup(s.keyBuf, h)
		}
		if !ok {
			s.stats.GroupsDropped++
			return
		}
		// Every event falls in at least one window (size is a multiple of every): the
		// group opens with the first of them.
		s.group(slot).first = cell{start: lo * s.every}
		s.opened(slot, refFirst, lo*s.every)
	}
	gk := s.keyBuf[split:]
	at := refFirst
	for k := lo; k <= hi; k++ {
		start := k * s.every
		at = s.cellFor(slot, at, start)
		c := s.cellAt(slot, at)
		var set map[string]struct{}
		switch s.fn {
		case rule.AggCountDistinct:
			set = s.set(slot, at)
			if _, dup := set[string(s.distBuf)]; !dup {
				if int64(len(set)) >= s.lim.MaxDistinct {
					s.stats.DistinctDropped++
				} else {
					set[string(s.distBuf)] = struct{}{}
				}
			}
		case rule.AggSum, rule.AggAvg:
			sum := c.v + num
			if math.IsInf(sum, 0) {
				s.stats.Overflows++
				continue
			}
			c.v = sum
		case rule.AggMin:
			if c.n() == 0 || num < c.v {
				c.v = num
			}
		case rule.AggMax:
			if c.n() == 0 || num > c.v {
				c.v = num
			}
		}
		c.nf += oneEvent
		if c.alerted() {
			continue
		}
		v := s.value(c, set)
		if s.r.Threshold.Holds(v) {
			c.nf |= firedBit
			cr := Crossing{Customer: ev.Customer, Group: gk, Count: c.n(), Value: v}
			if s.size > 0 {
				cr.Windowed, cr.Start, cr.End = true, start, start+s.size
			}
			cross(cr)
		}
	}
}

// value is the aggregate of cell c, whose values (count_distinct) are set.
func (s *State) value(c *cell, set map[string]struct{}) float64 {
	switch s.fn {
	case rule.AggCount:
		return float64(c.n())
	case rule.AggCountDistinct:
		return float64(len(set))
	case rule.AggAvg:
		return c.v / float64(c.n())
	default:
		return c.v
	}
}

// cellFor finds or opens slot's window starting at start. The search begins at from:
// refFirst, or a window of the group starting before start (an event's windows are
// found in start order, each from the one before, so a group's list is walked once
// per event).
func (s *State) cellFor(slot uint32, from ref, start int64) ref {
	if from == refFirst {
		g := s.group(slot)
		switch {
		case start == g.first.start:
			return refFirst
		case start < g.first.start:
			// An event out of order opens a window before the group's first: the
			// first moves to a node at the front of the list.
			j := s.newNode(cellNode{cell: g.first, next: g.more})
			g.first, g.more = cell{start: start}, j
			if s.distinct {
				s.nodeSets[j-1] = s.firstSets[slot]
			}
			s.opened(slot, refFirst, start)
			return refFirst
		}
	}
	prev := from
	for {
		next := s.nextOf(slot, prev)
		if next == 0 || s.node(next).start > start {
			at := s.newNode(cellNode{cell: cell{start: start}, next: next})
			s.setNext(slot, prev, at)
			s.opened(slot, at, start)
			return at
		}
		if s.node(next).start == start {
			return next
		}
		prev = next
	}
}

// opened counts slot's new window at, starting at start, and lists it for closing.
func (s *State) opened(slot uint32, at ref, start int64) {
	if s.distinct {
		s.setSet(slot, at, map[string]struct{}{})
	}
	s.cells++
	if s.size > 0 {
		s.addTo(start, slot)
	}
}

// startList is one entry of the closing index: a window start and the slots of the
// groups holding that window.
type startList struct {
	start int64
	slots []uint32
}

// addTo lists slot under start in the closing index.
func (s *State) addTo(start int64, slot uint32) {
	n := len(s.closing)
	if h := s.hint; h >= s.closeHead && h < n {
		if s.closing[h].start == start {
			s.closing[h].slots = append(s.closing[h].slots, slot)
			return
		}
		if h+1 < n && s.closing[h+1].start == start {
			s.hint = h + 1
			s.closing[h+1].slots = append(s.closing[h+1].slots, slot)
			return
		}
	}
	if n > s.closeHead && start <= s.closing[n-1].start && start >= s.closing[s.closeHead].start {
		lo, hi := s.closeHead, n
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if s.closing[m].start < start {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if s.closing[lo].start == start {
			s.hint = lo
			s.closing[lo].slots = append(s.closing[lo].slots, slot)
			return
		}
	}
	if list, ok := s.byStart[start]; ok {
		s.byStart[start] = append(list, slot)
		return
	}
	if n == s.closeHead || start > s.closing[n-1].start {
		s.closing = append(s.closing, startList{start: start, slots: append(s.spare, slot)})
		s.spare = nil
		s.hint = n
		return
	}
	if s.byStart == nil {
		s.byStart = map[int64][]uint32{}
	}
	heap.Push(&s.starts, start)
	s.byStart[start] = append(s.spare, slot)
	s.spare = nil
}

// closeUpTo drops every window whose end is at or below watermark.
func (s *State) closeUpTo(watermark int64) {
	if s.size == 0 {
		return
	}
	for {
		var list []uint32
		switch {
		case s.closeHead < len(s.closing) && s.closing[s.closeHead].start+s.size <= watermark &&
			(len(s.starts) == 0 || s.closing[s.closeHead].start < s.starts[0]):
			e := &s.closing[s.closeHead]
			list = e.slots
			*e = startList{}
			s.closeHead++
		case len(s.starts) > 0 && s.starts[0]+s.size <= watermark:
			start := heap.Pop(&s.starts).(int64)
			list = s.byStart[start]
			delete(s.byStart, start)
		default:
			// The closed entries go once they are half the deque, so that it does not
			// grow without bound and compacting costs O(1) a start.
			if s.closeHead > 0 && s.closeHead*2 >= len(s.closing) {
				n := copy(s.closing, s.closing[s.closeHead:])
				clear(s.closing[n:])
				s.closing, s.closeHead, s.hint = s.closing[:n], 0, 0
			}
			return
		}
		s.closeWindows(list)
		s.spare = list[:0]
	}
}

// closeWindows closes the first window of each group of slots.
func (s *State) closeWindows(slots []uint32) {
	last := 0 // groups closing their last window
	// This pass also reads the node of each group's next window, which closeFirst
	// moves into the group's record: the records and nodes are seldom in the cache,
	// and a loop this short has many of their reads under way at once, where
	// closeFirst's would wait for each in turn.
	var touch uint64
	for _, slot := range slots {
		if more := s.group(slot).more; more == 0 {
			last++
		} else {
			touch += s.node(more).nf
		}
	}
	s.touched = touch
	// When most groups go at once, as tumbling windows' do, placing those that stay in
	// a cleared table is quicker than taking the others out one by one (each moves the
	// entries after it back, hashing their ids), unless the table is much larger than
	// the groups going (kept from a burst of groups).
	if last*2 <= s.live || len(s.table) > 32*last {
		for _, slot := range slots {
			s.closeFirst(slot)
		}
		return
	}
	for _, slot := range slots {
		if s.group(slot).more == 0 {
			s.cells--
			s.freeSlot(slot)
		} else {
			s.closeFirst(slot)
		}
	}
	clear(s.table)
	for slot := range s.liveSlots() {
		s.place(slot, s.hash(s.idOf(slot)))
	}
}

// closeFirst closes slot's first window: windows close in start order, so the one
// closing is the group's first. The next, if any, moves into the group's record.
func (s *State) closeFirst(slot uint32) {
	s.cells--
	g := s.group(slot)
	at := g.more
	if at == 0 {
		s.dropGroup(slot)
		return
	}
	n := s.node(at)
	g.first, g.more = n.cell, n.next
	if s.distinct {
		s.firstSets[slot] = s.nodeSets[at-1]
	}
	s.freeNode(at)
}

// appendGroupKey appends the event's group key: each group_by path's first node.
func (s *State) appendGroupKey(dst []byte, ev *Event) []byte {
	for _, p := range s.r.GroupPaths() {
		s.vals = p.Eval(ev.Doc, s.vals[:0])
		var v jsonpath.Value
		if len(s.vals) > 0 {
			v = s.vals[0]
		}
		dst = AppendValueKey(dst, v)
	}
	return dst
}

// maxEventTimeMs bounds event times to JavaScript's Date range, so that window
// arithmetic never overflows.
const maxEventTimeMs = 8_640_000_000_000_000

// eventTime is the event's time in Unix ms.
func (s *State) eventTime(ev *Event) (int64, bool) {
	p := s.r.TimePath()
	if p == nil {
		return unixMilli(ev.Time)
	}
	s.vals = p.Eval(ev.Doc, s.vals[:0])
	if len(s.vals) == 0 {
		return 0, false
	}
	return ParseTime(s.vals[0])
}

// ParseTime reads an event time: RFC 3339 text or a number of epoch milliseconds.
func ParseTime(v jsonpath.Value) (int64, bool) {
	switch v.Kind() {
	case jsonpath.KindString:
		t, err := time.Parse(time.RFC3339Nano, v.Str())
		if err != nil {
			return 0, false
		}
		return unixMilli(t)
	case jsonpath.KindNumber:
		f := math.Floor(v.Num())
		if math.IsNaN(f) || math.Abs(f) > maxEventTimeMs {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

func unixMilli(t time.Time) (int64, bool) {
	sec := t.Unix()
	if sec > maxEventTimeMs/1000 || sec < -maxEventTimeMs/1000 {
		return 0, false
	}
	return sec*1000 + int64(t.Nanosecond()/1e6), true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

type startHeap []int64

func (h startHeap) Len() int           { return len(h) }
func (h startHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h startHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *startHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *startHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
