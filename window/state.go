package window

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/internal/rfc3339"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// Limits bound one State's memory, a rule's rule.RuleLimits overriding them, and a
// Replay's running counts (MaxCounters, MaxCustomerIDBytes).
type Limits struct {
	// MaxGroups is the most open groups (customer, group values) one rule keeps per
	// partition. Default 100,000.
	MaxGroups int64
	// MaxDistinct is the most distinct values one count_distinct window keeps.
	// Default 10,000.
	MaxDistinct int64
	// MaxKeyBytes is the longest group key (the group_by values, as canonically
	// encoded) and count_distinct value a state keeps, in bytes: an event whose key is
	// longer counts in no window (Stats.KeysTooLong, the rule degraded). The group and
	// distinct limits count entries; without it, events of a megabyte's group_by value
	// made each group a megabyte, and MaxGroups of them 100 GB. Default 4,096.
	MaxKeyBytes int64
	// MaxCounters bounds a Replay's running counts, its (customer, plain rule)
	// counters, together, as live's --max-counters bounds a partition's: a match that
	// needs a new counter past it is not counted and its rule is degraded
	// (Replay.Degraded). A State ignores it. 0: DefaultMaxCounters; negative: none.
	MaxCounters int
	// MaxCustomerIDBytes bounds the bytes of the customer ids a Replay's running
	// counts hold, counted in IDPage pages as live's --max-customer-ids-bytes counts a
	// partition's: a match that needs a new customer past it is not counted and its
	// rule is degraded. A State ignores it. 0: DefaultMaxCustomerIDBytes; negative (or
	// past it): MaxIDBytes. Under IDPage no id fits (CheckMaxCustomerIDBytes says so).
	MaxCustomerIDBytes int64
}

// DefaultMaxCounters is the default bound on (customer, plain rule) counters, live's
// (live.DefaultMaxCounters, --max-counters) and a Replay's: ten million counters,
// about 600 MB in live's store, besides their customers' ids.
const DefaultMaxCounters = 10_000_000

// DefaultLimits are the evaluator's limits unless its flags say otherwise.
var DefaultLimits = Limits{MaxGroups: 100_000, MaxDistinct: 10_000, MaxKeyBytes: 4096}

// EnsureDefaults fills zero limits from DefaultLimits.
func (l Limits) EnsureDefaults() Limits {
	if l.MaxGroups <= 0 {
		l.MaxGroups = DefaultLimits.MaxGroups
	}
	if l.MaxDistinct <= 0 {
		l.MaxDistinct = DefaultLimits.MaxDistinct
	}
	if l.MaxKeyBytes <= 0 {
		l.MaxKeyBytes = DefaultLimits.MaxKeyBytes
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
	// Offset is the event's offset in its partition: what an alert's samples name.
	Offset int64
	// Shared, if set, holds the event's values for every state it is added to (see
	// Shared); nil, each state evaluates its own.
	Shared *Shared
	// Values, when set, gives the value at each of the rule's group_by, aggregate, time
	// and alert.context paths (all singular), read elsewhere — a lake's typed columns — in place of
	// evaluating them on Doc, which may then be nil. The zero Value is nothing selected.
	Values func(p *jsonpath.Path) jsonpath.Value
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
	// Context is the crossing event's values at the rule's alert.context paths, by
	// path (ContextOf); nil when the rule has none.
	Context map[string]json.RawMessage
	// Resolved marks the end of an incident (lifecycle.go): Start, End, Count and Value
	// are its opening alert's, so its alert has that alert's id; Context is nil.
	Resolved bool
	// Samples are the offsets of up to MaxSamples events of the window, the crossing
	// event first (samples.go); nil for a resolved record. Like Group, it aliases the
	// state's scratch space: valid during the callback only.
	Samples []int64
}

// Stats are a State's counters of what it did not count or keep.
type Stats struct {
	// Late counts events below the watermark; TimeErrors events without a usable time.
	Late, TimeErrors uint64
	// GroupsDropped counts contributions to new groups refused at MaxGroups;
	// DistinctDropped new distinct values refused at MaxDistinct; Overflows sums that
	// would have overflowed float64.
	GroupsDropped, DistinctDropped, Overflows uint64
	// Suppressed counts crossings not sent because their group's incident was open
	// (alert.suppress); IncidentsDropped alerts sent without an incident, beyond
	// MaxGroups open incidents (not suppressed after, nor resolved).
	Suppressed, IncidentsDropped uint64
	// KeysTooLong counts events not counted because their group key or count_distinct
	// value was longer than MaxKeyBytes.
	KeysTooLong uint64
}

// State is one rule version's windows in one partition (see the package comment).
type State struct {
	// What every Add reads or writes comes first, so that a matched event touches few
	// of the state's cache lines: a partition runs a state per rule, and their lines
	// crowd out each other's and the matcher's.
	size    int64 // ms; 0: running total
	every   int64
	late    int64 // lateness, ms
	maxTime int64 // largest event time of a matched event, if seen
	seen    bool
	// distinct is agg == aggDistinct: windows have value sets (firstSets, runSetsOf).
	distinct bool
	agg      aggKind
	// thr is the rule's threshold, copied so that Add does not read the rule.
	thr   rule.Threshold
	timed bool // the rule has a time path
	live  int  // open groups
	cells int  // open windows
	// statsGen changes whenever stats does (bump): here, not next to stats, so that a
	// caller can tell an Add changed them without reading a cold line.
	statsGen uint32
	// maxGroups is lim.MaxGroups.
	maxGroups int64
	// A decoded state may hold more than its limits keep (a snapshot taken under
	// larger ones, Decode): restoredOverGroups while its open groups are above
	// MaxGroups, and overDistinct values in a count_distinct window until the
	// watermark reaches overDistinctUntil, the end of the last such window.
	restoredOverGroups              bool
	overDistinct, overDistinctUntil int64
	// silentBelow: incidents opened by events at offsets below it are silent
	// (SilenceBelow).
	silentBelow int64

	// The groups and their windows, stored as store.go says.
	groups    slab[group]
	table     []uint32
	slotBits  uint
	ids       []byte
	idGarbage int      // bytes of ids of freed groups
	freeSlots []uint32 // free slots, a stack

	// The closing index (closing.go).
	closing   []startList
	closeHead int
	hint      int
	starts    startHeap
	spare     []uint32

	// The keys of the rule's paths in an event's Shared values.
	groupPaths, aggPath, timePath pathsKey

	// cur is Add's scratch: the cells of the group an event goes to.
	cur windows

	r         *rule.Rule
	lim       Limits
	runs      [][]cell                // groups' later cells (runs.go)
	runHead   []uint32                // each run's first cell in use, in its array (runs.go)
	runSetsOf [][]map[string]struct{} // count_distinct: runs' value sets
	freeRuns  []uint32                // numbers of dropped runs, a stack
	firstSets []map[string]struct{}
	byStart   map[int64]*startList

	stats Stats
	// reported is stats as of the last TakeStats.
	reported Stats
	// recent is each slot's latest contributions, for samples (samples.go).
	recent    [][MaxSamples - 1]sample
	sampleBuf []int64
	// life is the alert lifecycle (lifecycle.go); nil when every crossing is sent.
	life *lifecycle

	keyBuf  []byte
	distBuf []byte
	vals    []jsonpath.Value
	// fsets, in a Frozen's shell only, is count_distinct's value sets (distinct is
	// false there: no map is read).
	fsets *frozenSets
}

// aggKind is the rule's aggregate function.
type aggKind uint8

const (
	aggCount aggKind = iota
	aggDistinct
	aggSum
	aggAvg
	aggMin
	aggMax
)

var aggKinds = map[string]aggKind{rule.AggCount: aggCount, rule.AggCountDistinct: aggDistinct,
	rule.AggSum: aggSum, rule.AggAvg: aggAvg, rule.AggMin: aggMin, rule.AggMax: aggMax}

// cell is the aggregate of one or more consecutive windows of a group (see runs.go):
// 24 bytes, so that an open window costs little.
type cell struct {
	start int64   // the first window's
	v     float64 // sum (sum, avg), min, max; unused for count and count_distinct
	// nf packs, from the top, the number of contributing events, the number of
	// windows less one (span) and firedBit once the windows alerted: one word for all.
	nf uint64
}

const (
	firedBit   = 1 // in cell.nf: the windows alerted
	spanShift  = 1
	spanBits   = 16
	maxSpan    = 1 << spanBits // windows in a cell: more than an event falls in
	countShift = spanShift + spanBits
	oneEvent   = 1 << countShift // cell.nf's increment for one contributing event
	// maxCount bounds a decoded count, so that it fits in nf; no stream reaches it.
	maxCount = 1 << (63 - countShift)
)

// n is the number of contributing events.
// A rule may ask for an event to fall in as many windows as the limit allows: a
// cell's window count must hold that many (both checks fail to compile otherwise).
const (
	_ = uint(maxSpan - rule.WindowOverlapCeiling)
	_ = uint(rule.WindowOverlapCeiling - maxSpan)
)

func (c *cell) n() int64 { return int64(c.nf >> countShift) }

// alerted reports whether the windows crossed the threshold.
func (c *cell) alerted() bool { return c.nf&firedBit != 0 }

// span is the number of windows the cell holds.
func (c *cell) span() int64 { return int64(c.nf>>spanShift&(maxSpan-1)) + 1 }

func (c *cell) setSpan(m int64) {
	c.nf = c.nf&^((maxSpan-1)<<spanShift) | uint64(m-1)<<spanShift
}

// New returns the empty state of rule r (a validated rule) under limits lim.
func New(r *rule.Rule, lim Limits) *State {
	s := &State{r: r, lim: lim.For(r), agg: aggKinds[r.Aggregate.Fn], late: time.Duration(r.Lateness).Milliseconds(),
		distinct: r.Aggregate.Fn == rule.AggCountDistinct, thr: r.Threshold,
		timed:      r.TimePath() != nil,
		groupPaths: makePathsKey(r.GroupBy), aggPath: makePathsKey([]string{r.Aggregate.Path}), timePath: makePathsKey([]string{r.Time})}
	s.maxGroups = s.lim.MaxGroups
	if r.Window != nil {
		s.size = time.Duration(r.Window.Size).Milliseconds()
		s.every = time.Duration(r.Window.Every).Milliseconds()
		s.life = newLifecycle(r.SuppressFor(), r.Resolves())
	}
	return s
}

// Rule is the rule version the state belongs to.
func (s *State) Rule() *rule.Rule { return s.r }

// Stats are the state's counters.
func (s *State) Stats() Stats { return s.stats }

// StatsGen changes whenever Stats does: comparing it before and after an Add is cheaper
// than comparing Stats.
func (s *State) StatsGen() uint32 { return s.statsGen }

// TakeStats returns Stats as of the last TakeStats (zero at New; for a decoded state,
// what it was decoded with) and now, and remembers now: what a caller that publishes
// the counters as increments adds.
func (s *State) TakeStats() (before, now Stats) {
	before, s.reported = s.reported, s.stats
	return before, s.stats
}

func (s *State) bump(c *uint64, n uint64) {
	*c += n
	s.statsGen++
}

// GroupCount is the number of open groups; WindowCount the number of open (group,
// window) cells.
func (s *State) GroupCount() int  { return s.live }
func (s *State) WindowCount() int { return s.cells }

// Watermark is the current watermark in Unix ms (ok false before any event time).
func (s *State) Watermark() (ms int64, ok bool) { return s.maxTime - s.late, s.seen }

// Degraded says why the state's figures are lower bounds ("" when they are exact):
// every reason, "; " between them, so that a user raising the one limit named does not
// find the figures still short for another (TestDegradedNamesEveryReason).
func (s *State) Degraded() string {
	st := s.stats
	var why []string
	if st.GroupsDropped > 0 {
		why = append(why, fmt.Sprintf("group limit %d reached: %d contributions to new groups not counted", s.lim.MaxGroups, st.GroupsDropped))
	}
	if st.DistinctDropped > 0 {
		why = append(why, fmt.Sprintf("distinct value limit %d reached: %d new values not counted", s.lim.MaxDistinct, st.DistinctDropped))
	}
	if st.Overflows > 0 {
		why = append(why, fmt.Sprintf("%d values not added: the sum would overflow float64", st.Overflows))
	}
	if st.KeysTooLong > 0 {
		why = append(why, fmt.Sprintf("key limit %d bytes reached: %d events whose group_by values or count_distinct value are longer not counted", s.lim.MaxKeyBytes, st.KeysTooLong))
	}
	if st.IncidentsDropped > 0 {
		why = append(why, fmt.Sprintf("group limit %d reached for open incidents: %d alerts sent without suppression or resolve", s.lim.MaxGroups, st.IncidentsDropped))
	}
	if s.restoredOverGroups && int64(s.live) > s.lim.MaxGroups {
		why = append(why, fmt.Sprintf("restored with more open groups (%d now) than the group limit %d (a snapshot taken under a larger one): new groups are not kept until enough close", s.live, s.lim.MaxGroups))
	}
	if wm, ok := s.Watermark(); s.overDistinct > 0 && (!ok || wm < s.overDistinctUntil) {
		why = append(why, fmt.Sprintf("restored with a window of %d distinct values, above the distinct value limit %d (a snapshot taken under a larger one): new values are not kept in it", s.overDistinct, s.lim.MaxDistinct))
	}
	return strings.Join(why, "; ")
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
		s.bump(&s.stats.TimeErrors, 1)
		return
	}
	if s.seen && t < s.maxTime-s.late {
		s.bump(&s.stats.Late, 1)
		return
	}
	if s.life != nil {
		wm := t
		if s.seen && s.maxTime > t {
			wm = s.maxTime
		}
		s.closeIncidents(wm-s.late, cross)
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
	var distKey []byte
	if s.agg != aggCount {
		var ok bool
		if num, distKey, ok = s.aggregateInput(ev); !ok {
			return
		}
	}
	lo, hi := int64(0), int64(0)
	if s.size > 0 {
		hi = floorDiv(t, s.every)
		lo = floorDiv(t-s.size, s.every) + 1
	}
	id, split, h, hashed := s.groupID(ev)
	if int64(len(id)-split) > s.lim.MaxKeyBytes || int64(len(distKey)) > s.lim.MaxKeyBytes {
		s.bump(&s.stats.KeysTooLong, 1)
		return
	}
	slot, h, hashed, ok := s.find(id, h, hashed)
	fresh := !ok
	if fresh {
		if int64(s.live) < s.maxGroups {
			if !hashed {
				h = hashID(id)
			}
			slot, ok = s.newGroup(id, h)
		}
		if !ok {
			s.bump(&s.stats.GroupsDropped, 1)
			return
		}
	} else {
		s.trim(slot)
	}
	// Every event falls in at least one window (size is a multiple of every); the
	// cells p … q hold them.
	w := &s.cur
	p, q := s.open(w, slot, lo, hi, fresh)
	gk := id[split:]
	for pos := p; pos <= q; pos++ {
		c := w.cell(pos)
		var set map[string]struct{}
		switch s.agg {
		case aggDistinct:
			set = *w.set(pos)
			if _, dup := set[string(distKey)]; !dup {
				if int64(len(set)) >= s.lim.MaxDistinct {
					// Counted per window, as if each had its own cell.
					s.bump(&s.stats.DistinctDropped, uint64(c.span()))
				} else {
					set[string(distKey)] = struct{}{}
				}
			}
		case aggSum, aggAvg:
			sum := c.v + num
			if math.IsInf(sum, 0) {
				s.bump(&s.stats.Overflows, uint64(c.span()))
				continue
			}
			c.v = sum
		case aggMin:
			// Of 0 and -0, which are equal, -0 whatever their order (as Go's min): the
			// first kept would differ by the order events arrive in, which live and a
			// replay of history need not share (TestMinMaxOfZeroAndNegativeZeroIgnoreOrder).
			if c.n() == 0 || num < c.v || num == 0 && c.v == 0 && math.Signbit(num) {
				c.v = num
			}
		case aggMax:
			if c.n() == 0 || num > c.v || num == 0 && c.v == 0 && !math.Signbit(num) {
				c.v = num
			}
		}
		c.nf += oneEvent
		if c.alerted() {
			continue
		}
		v := s.value(c, set)
		if s.thr.Holds(v) {
			c.nf |= firedBit
			// Each window of the cell crosses: an alert each.
			cr := Crossing{Customer: ev.Customer, Group: gk, Count: c.n(), Value: v, Context: s.context(ev)}
			if s.size == 0 {
				cr.Samples = s.samplesFor(slot, ev, false, 0, 0)
				cross(cr)
				continue
			}
			for start := c.start; start < s.segEnd(c); start += s.every {
				cr.Windowed, cr.Start, cr.End = true, start, start+s.size
				cr.Samples = s.samplesFor(slot, ev, true, cr.Start, cr.End)
				s.raise(id, t, ev.Offset, cr, cross)
			}
		}
	}
	s.remember(slot, ev, t)
	*w = windows{} // nothing kept alive past Add
}

// value is the aggregate of cell c, whose values (count_distinct) are set.
func (s *State) value(c *cell, set map[string]struct{}) float64 {
	switch s.agg {
	case aggCount:
		return float64(c.n())
	case aggDistinct:
		return float64(len(set))
	case aggAvg:
		return c.v / float64(c.n())
	default:
		return c.v
	}
}

// minEventTimeMs and maxEventTimeMs bound event times to the years RFC 3339 can
// write, 0000 to 9999: an alert carries its times, and its windows', as RFC 3339 text,
// which a year past 9999 is not (notify could not read such an alert). Window
// arithmetic cannot overflow within them.
const (
	minEventTimeMs = -62_167_219_200_000 // 0000-01-01T00:00:00Z
	maxEventTimeMs = 253_402_300_799_999 // 9999-12-31T23:59:59.999Z
)

// ParseTime reads an event time: RFC 3339 text (T and Z in either case, a leap second
// taken as the second after it) or a number of epoch milliseconds.
func ParseTime(v jsonpath.Value) (int64, bool) {
	switch v.Kind() {
	case jsonpath.KindString:
		return parseRFC3339(v.Str())
	case jsonpath.KindNumber:
		f := math.Floor(v.Num())
		if math.IsNaN(f) || f < minEventTimeMs || f > maxEventTimeMs {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

// parseRFC3339 reads RFC 3339 §5.6 date-time text (rfc3339.Parse, the grammar rules
// files' test times take too) in epoch ms within the years.
func parseRFC3339(s string) (int64, bool) {
	t, ok := rfc3339.Parse(s)
	if !ok {
		return 0, false
	}
	return unixMilli(t)
}

func unixMilli(t time.Time) (int64, bool) {
	sec := t.Unix()
	if sec > maxEventTimeMs/1000 || sec < minEventTimeMs/1000 {
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
