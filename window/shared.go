package window

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"strings"
	"unique"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// Shared holds what rules' paths select from one event, for every State the event is
// added to: the rules an event matches often group, aggregate or time it by the same
// paths ("per actor", "$.bytes"), and each such path is then evaluated, and each group
// id built and hashed, once for all of them rather than once per rule. The results are
// the same as a State's own (the same paths on the same document), so a State with or
// without one counts alike. An evaluator keeps one and calls Reset before each event.
// The zero value is ready.
type Shared struct {
	groups []sharedGroup
	nums   []sharedNum
	times  []sharedTime
}

// Reset forgets the last event's values, keeping the buffers.
func (sh *Shared) Reset() {
	sh.groups, sh.nums, sh.times = sh.groups[:0], sh.nums[:0], sh.times[:0]
}

// pathsKey names a list of paths by their text: rules with the same texts select the
// same values from an event. A unique handle compares as a pointer.
type pathsKey = unique.Handle[string]

func makePathsKey(paths []string) pathsKey { return unique.Make(strings.Join(paths, "\x00")) }

// sharedGroup is a group id (customer length, customer, group key) and its hash.
type sharedGroup struct {
	paths pathsKey
	id    []byte
	split int // where the group key starts
	hash  uint64
}

// sharedNum is what an aggregate path selects: the first finite number (sum, min,
// max, avg) or the first value's key (count_distinct), if any.
type sharedNum struct {
	path     pathsKey
	distinct bool
	found    bool
	num      float64
	key      []byte
}

type sharedTime struct {
	path pathsKey
	ms   int64
	ok   bool
}

// hashSeed seeds the hash of group ids: one for the process, so that states can share
// an event's hashes (Shared).
var hashSeed = maphash.MakeSeed()

func hashID(id []byte) uint64 { return maphash.Bytes(hashSeed, id) }

// groupID returns the event's group id under s's group_by and where the group key
// starts in it; the id aliases a buffer (s's or ev.Shared's) valid until the next
// event. The id's hash comes with a shared id (hashed true), where one hash serves
// every rule; a state of its own hashes only if it must (find).
func (s *State) groupID(ev *Event) (id []byte, split int, h uint64, hashed bool) {
	sh := ev.Shared
	if sh == nil {
		s.keyBuf, split = s.appendID(s.keyBuf[:0], ev)
		return s.keyBuf, split, 0, false
	}
	for i := range sh.groups {
		if g := &sh.groups[i]; g.paths == s.groupPaths {
			return g.id, g.split, g.hash, true
		}
	}
	g := grow(&sh.groups)
	g.paths = s.groupPaths
	g.id, g.split = s.appendID(g.id[:0], ev)
	g.hash = hashID(g.id)
	return g.id, g.split, g.hash, true
}

// appendID appends the event's group id: the length of the customer (uvarint), the
// customer, then the canonical group key, so that no customer and group can run into
// another's.
func (s *State) appendID(dst []byte, ev *Event) ([]byte, int) {
	dst = binary.AppendUvarint(dst, uint64(len(ev.Customer)))
	dst = append(dst, ev.Customer...)
	split := len(dst)
	for _, p := range s.r.GroupPaths() {
		s.valuesAt(ev, p)
		var v jsonpath.Value
		if len(s.vals) > 0 {
			v = s.vals[0]
		}
		dst = AppendValueKey(dst, v)
	}
	return dst, split
}

// aggregateInput returns what the event gives s's aggregate: for count_distinct the
// key of the first value selected (aliasing a buffer valid until the next event), for
// sum, min, max and avg the first finite number; ok is false when there is none.
func (s *State) aggregateInput(ev *Event) (num float64, key []byte, ok bool) {
	sh := ev.Shared
	if sh == nil {
		return s.evalAggregate(ev, &s.distBuf)
	}
	for i := range sh.nums {
		if n := &sh.nums[i]; n.path == s.aggPath && n.distinct == s.distinct {
			return n.num, n.key, n.found
		}
	}
	n := grow(&sh.nums)
	n.path, n.distinct = s.aggPath, s.distinct
	n.num, n.key, n.found = s.evalAggregate(ev, &n.key)
	return n.num, n.key, n.found
}

func (s *State) evalAggregate(ev *Event, buf *[]byte) (num float64, key []byte, ok bool) {
	s.valuesAt(ev, s.r.AggregatePath())
	if s.distinct {
		if len(s.vals) == 0 {
			return 0, nil, false
		}
		*buf = AppendValueKey((*buf)[:0], s.vals[0])
		return 0, *buf, true
	}
	for _, v := range s.vals {
		if v.Kind() == jsonpath.KindNumber {
			if f := v.Num(); !math.IsInf(f, 0) {
				return f, nil, true
			}
		}
	}
	return 0, nil, false
}

// eventTime is the event's time in Unix ms; not ok when it has none, or when a window
// it falls in would start or end outside the years an alert can write
// (minEventTimeMs, maxEventTimeMs). The windows tested are the epoch-aligned ones
// that contain t (windowsFit), not every window of the size around t: a size that
// does not divide the years' span (a week, 365 days) would refuse an event whose
// windows all fit while counting another of the same window
// (TestEventWhoseWindowsFitTheYearsCounts). A window may not start at minEventTimeMs
// itself either: the lake files a record stamped before year 0000 at that time, and a
// history query must not count in a one-millisecond window what live, with the record's
// own time, does not (TestClampedRecordTimeKeepsOneVerdict).
func (s *State) eventTime(ev *Event) (int64, bool) {
	t, ok := s.eventTimeOf(ev)
	if ok && s.size > 0 && !windowsFit(t, s.size, s.every) {
		return 0, false
	}
	return t, ok
}

// windowsFit reports whether every window of size starting at a multiple of every
// (every 0 is a tumbling window, every = size) that contains t starts after
// minEventTimeMs and ends by maxEventTimeMs. The first such window starts at
// (floorDiv(t-size, every)+1)·every, the last ends at floorDiv(t, every)·every+size,
// as contribute opens them. t is within the years and size, every are durations in
// ms (at most 2^63 ns), so none of it overflows.
func windowsFit(t, size, every int64) bool {
	if every <= 0 {
		every = size
	}
	first := (floorDiv(t-size, every) + 1) * every
	lastEnd := floorDiv(t, every)*every + size
	return first > minEventTimeMs && lastEnd <= maxEventTimeMs
}

func (s *State) eventTimeOf(ev *Event) (int64, bool) {
	if !s.timed {
		return unixMilli(ev.Time)
	}
	sh := ev.Shared
	if sh == nil {
		return s.evalTime(ev)
	}
	for i := range sh.times {
		if t := &sh.times[i]; t.path == s.timePath {
			return t.ms, t.ok
		}
	}
	t := grow(&sh.times)
	t.path = s.timePath
	t.ms, t.ok = s.evalTime(ev)
	return t.ms, t.ok
}

func (s *State) evalTime(ev *Event) (int64, bool) {
	s.valuesAt(ev, s.r.TimePath())
	if len(s.vals) == 0 {
		return 0, false
	}
	return ParseTime(s.vals[0])
}

// valuesAt sets s.vals to the values the event has at p: from ev.Values when set,
// else p evaluated on ev.Doc.
func (s *State) valuesAt(ev *Event, p *jsonpath.Path) {
	if ev.Values == nil {
		s.vals = p.Eval(ev.Doc, s.vals[:0])
		return
	}
	s.vals = s.vals[:0]
	if v := ev.Values(p); v.Kind() != jsonpath.KindInvalid {
		s.vals = append(s.vals, v)
	}
}

// grow appends an element to *xs, reusing the one past its length (and its buffers)
// when there is one, and returns it.
func grow[T any](xs *[]T) *T {
	n := len(*xs)
	if n < cap(*xs) {
		*xs = (*xs)[:n+1]
	} else {
		var zero T
		*xs = append(*xs, zero)
	}
	return &(*xs)[n]
}
