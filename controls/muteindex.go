package controls

import (
	"container/heap"
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// muteIndex orders the mutes a registry holds by their end, so that a mute control
// forgets ended mutes (mute_retention, max_ended_mutes) and counts the mutes in force
// (max_mutes) without walking every mute held, and an alert's Muted check walks the
// mutes in force alone. judged is the newest mute control's record time: a mute whose
// until is at or before it has ended there (ended, earliest first); one ending later is
// pending (earliest first); one with no end is in forever. Record times need not rise
// with offsets (producers' clocks differ): judged only rises, and a control stamped
// before it is judged at its own time where that matters (inForceAt).
type muteIndex struct {
	judged  time.Time
	ends    map[rule.Key]*muteEnd
	pending muteHeap
	ended   muteHeap
	forever map[rule.Key]*rule.Mute
}

// muteEnd is a held mute that has an end, in pending or ended at index i.
type muteEnd struct {
	key   rule.Key
	m     *rule.Mute
	i     int
	ended bool
}

// muteHeap is a min-heap of mutes by (until, scope, id): the order every fold forgets
// them in, the same in every process.
type muteHeap []*muteEnd

func (h muteHeap) Len() int { return len(h) }
func (h muteHeap) Less(i, j int) bool {
	if c := h[i].m.Until.Compare(h[j].m.Until); c != 0 {
		return c < 0
	}
	return compareKeys(h[i].key, h[j].key) < 0
}
func (h muteHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].i, h[j].i = i, j
}
func (h *muteHeap) Push(x any) {
	e := x.(*muteEnd)
	e.i = len(*h)
	*h = append(*h, e)
}
func (h *muteHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// add indexes m, held under k (nil: nothing).
func (x *muteIndex) add(k rule.Key, m *rule.Mute) {
	if m == nil {
		return
	}
	if m.Until.IsZero() {
		if x.forever == nil {
			x.forever = map[rule.Key]*rule.Mute{}
		}
		x.forever[k] = m
		return
	}
	if x.ends == nil {
		x.ends = map[rule.Key]*muteEnd{}
	}
	e := &muteEnd{key: k, m: m, ended: !x.judged.Before(m.Until)}
	x.ends[k] = e
	if e.ended {
		heap.Push(&x.ended, e)
	} else {
		heap.Push(&x.pending, e)
	}
}

// remove unindexes m, held under k until now (nil: nothing).
func (x *muteIndex) remove(k rule.Key, m *rule.Mute) {
	if m == nil {
		return
	}
	if m.Until.IsZero() {
		delete(x.forever, k)
		return
	}
	e := x.ends[k]
	if e == nil {
		return
	}
	delete(x.ends, k)
	if e.ended {
		heap.Remove(&x.ended, e.i)
	} else {
		heap.Remove(&x.pending, e.i)
	}
}

// advance moves judged to t if t is later, and the mutes ended by then to ended.
func (x *muteIndex) advance(t time.Time) {
	if !t.After(x.judged) {
		return
	}
	x.judged = t
	for len(x.pending) > 0 && !t.Before(x.pending[0].m.Until) {
		e := heap.Pop(&x.pending).(*muteEnd)
		e.ended = true
		heap.Push(&x.ended, e)
	}
}

// inForceAt is how many mutes are in force at t (rule.MutesInForce), t at or before
// judged: those with no end, those pending, and, for t before judged (a control
// stamped behind an earlier one), the ended ones ending after t.
func (x *muteIndex) inForceAt(t time.Time) int {
	n := len(x.forever) + len(x.pending)
	if t.Before(x.judged) {
		for _, e := range x.ended {
			if t.Before(e.m.Until) {
				n++
			}
		}
	}
	return n
}

// earliestEnded is the mute that ended first (at or before judged), if any.
func (x *muteIndex) earliestEnded() (rule.Key, *rule.Mute, bool) {
	if len(x.ended) == 0 {
		return rule.Key{}, nil, false
	}
	return x.ended[0].key, x.ended[0].m, true
}

// inForceCandidates calls fn with every mute that may be in force at now: those with
// no end, those pending, and, for now before judged (controls stamped ahead of the
// clock), the ended ones too.
func (x *muteIndex) inForceCandidates(now time.Time, fn func(rule.Key, *rule.Mute)) {
	for k, m := range x.forever {
		fn(k, m)
	}
	for _, e := range x.pending {
		fn(e.key, e.m)
	}
	if now.Before(x.judged) {
		for _, e := range x.ended {
			fn(e.key, e.m)
		}
	}
}
