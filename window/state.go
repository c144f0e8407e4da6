package window

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
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

	seen    bool
	maxTime int64 // largest event time of a matched event, if seen

	groups map[string]*group
	// byStart lists, per open window start, the groups holding it; starts is a heap
	// of the keys of byStart, so windows close in order.
	byStart map[int64][]*group
	starts  startHeap
	cells   int

	stats Stats

	keyBuf []byte
	vals   []jsonpath.Value
}

// group is one (customer, group values) with its open windows, in start order. It is
// 48 bytes (plus its id and cells): a state may hold 100,000 of them.
type group struct {
	// id is the length of the customer (uvarint), the customer, then the canonical
	// group key (from split()): one string identifies the group, so that no customer
	// and group can run into another's.
	id    string
	cells []cell
	// dist is count_distinct's values, one set per cell; nil for other aggregates,
	// which pay 8 bytes for it rather than a slice's 24.
	dist *distinctSets
}

type distinctSets struct{ sets []map[string]struct{} }

// customerLen is the customer's length and the width of its uvarint.
func (g *group) customerLen() (n uint64, w int) {
	return binary.Uvarint([]byte(g.id[:min(len(g.id), binary.MaxVarintLen64)]))
}

func (g *group) customer() string {
	n, w := g.customerLen()
	return g.id[w : w+int(n)]
}

// split is where the group key starts in id.
func (g *group) split() int {
	n, w := g.customerLen()
	return w + int(n)
}

func (g *group) key() []byte { return []byte(g.id[g.split():]) }

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
		groups: map[string]*group{}, byStart: map[int64][]*group{}}
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
func (s *State) GroupCount() int  { return len(s.groups) }
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
	var distinctKey []byte
	switch s.fn {
	case rule.AggCount:
	case rule.AggCountDistinct:
		s.vals = s.r.AggregatePath().Eval(ev.Doc, s.vals[:0])
		if len(s.vals) == 0 {
			return
		}
		distinctKey = AppendValueKey(nil, s.vals[0])
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
	s.keyBuf = binary.AppendUvarint(s.keyBuf[:0], uint64(len(ev.Customer)))
	s.keyBuf = append(s.keyBuf, ev.Customer...)
	split := len(s.keyBuf)
	s.keyBuf = s.appendGroupKey(s.keyBuf, ev)
	g := s.groups[string(s.keyBuf)]
	if g == nil {
		if int64(len(s.groups)) >= s.lim.MaxGroups {
			s.stats.GroupsDropped++
			return
		}
		g = &group{id: string(s.keyBuf)}
		if s.fn == rule.AggCountDistinct {
			g.dist = &distinctSets{}
		}
		s.groups[g.id] = g
	}
	gk := s.keyBuf[split:]
	lo, hi := int64(0), int64(0)
	if s.size > 0 {
		hi = floorDiv(t, s.every)
		lo = floorDiv(t-s.size, s.every) + 1
	}
	for k := lo; k <= hi; k++ {
		start := k * s.every
		i := s.cellIndex(g, start)
		c := &g.cells[i]
		switch s.fn {
		case rule.AggCountDistinct:
			set := g.dist.sets[i]
			if _, dup := set[string(distinctKey)]; !dup {
				if int64(len(set)) >= s.lim.MaxDistinct {
					s.stats.DistinctDropped++
				} else {
					set[string(distinctKey)] = struct{}{}
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
		v := s.value(g, i)
		if s.r.Threshold.Holds(v) {
			c.nf |= firedBit
			cr := Crossing{Customer: g.customer(), Group: gk, Count: c.n(), Value: v}
			if s.size > 0 {
				cr.Windowed, cr.Start, cr.End = true, start, start+s.size
			}
			cross(cr)
		}
	}
}

// value is cell i's aggregate.
func (s *State) value(g *group, i int) float64 {
	c := &g.cells[i]
	switch s.fn {
	case rule.AggCount:
		return float64(c.n())
	case rule.AggCountDistinct:
		return float64(len(g.dist.sets[i]))
	case rule.AggAvg:
		return c.v / float64(c.n())
	default:
		return c.v
	}
}

// cellIndex finds or opens g's window starting at start.
func (s *State) cellIndex(g *group, start int64) int {
	i, found := slices.BinarySearchFunc(g.cells, start, func(c cell, st int64) int {
		switch {
		case c.start < st:
			return -1
		case c.start > st:
			return 1
		}
		return 0
	})
	if found {
		return i
	}
	g.cells = slices.Insert(g.cells, i, cell{start: start})
	if g.dist != nil {
		g.dist.sets = slices.Insert(g.dist.sets, i, map[string]struct{}{})
	}
	s.cells++
	if s.size > 0 {
		list, ok := s.byStart[start]
		if !ok {
			heap.Push(&s.starts, start)
		}
		s.byStart[start] = append(list, g)
	}
	return i
}

// closeUpTo drops every window whose end is at or below watermark.
func (s *State) closeUpTo(watermark int64) {
	if s.size == 0 {
		return
	}
	for len(s.starts) > 0 && s.starts[0]+s.size <= watermark {
		start := heap.Pop(&s.starts).(int64)
		for _, g := range s.byStart[start] {
			// Windows close in start order, so the group's first window is this one.
			g.cells = g.cells[1:]
			if g.dist != nil {
				// The backing array outlives the reslice: let the closed window's
				// values go now, not when the array is next reallocated.
				g.dist.sets[0] = nil
				g.dist.sets = g.dist.sets[1:]
			}
			s.cells--
			if len(g.cells) == 0 {
				delete(s.groups, g.id)
			}
		}
		delete(s.byStart, start)
	}
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
