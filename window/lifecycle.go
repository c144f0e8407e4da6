package window

import (
	"container/heap"
	"encoding/binary"
	"math"
	"time"
)

// The alert lifecycle of a windowed rule: suppression and resolve, decided in event
// time from the partition's order like lateness, so that history reproduces live.
//
// A crossing of a (customer, group) with no open incident is sent (a firing alert) and
// opens an incident; a crossing while one is open is suppressed (counted, not sent)
// and, for a rule with resolve, extends the incident to the end of its window. An
// incident closes when the watermark reaches its close time: the opening alert's event
// time plus the rule's suppress, or, with resolve, the end of the last window that
// crossed during it if that is later. Closing sends a resolved record (resolve only)
// that carries the opening alert's identity. An event's time first closes the incidents
// its watermark reaches, then counts: an event at exactly the suppress time's end
// alerts again. Incidents closing at one watermark close in (close time, group id)
// order. A running total has neither (it alerts once per group and never closes).

// incident is one open incident of a (customer, group).
type incident struct {
	// opened is the opening alert's event time; closes when the incident closes.
	opened, closes int64
	// The opening alert's window and figures, for its resolved record.
	start, end int64
	count      int64
	value      float64
	// silent: its firing alert was never sent (history a hand-off holds back, Silence),
	// so its close sends no resolved record either.
	silent bool
}

// lifecycle is a State's open incidents.
type lifecycle struct {
	suppress int64 // ms
	resolve  bool
	open     map[string]*incident // by group id
	// due orders the open incidents by close time, one entry each: an incident
	// extended since its entry was pushed is pushed again at its new time only when that
	// entry comes due, so that the extensions of a resolving incident (one per window
	// that crosses during it, 1,440 for a day-long window every minute) cost nothing
	// until then. An entry of an incident no longer open is stale and skipped.
	due dueHeap
}

func newLifecycle(suppress time.Duration, resolve bool) *lifecycle {
	if suppress <= 0 && !resolve {
		return nil // every crossing is sent: nothing to keep
	}
	return &lifecycle{suppress: suppress.Milliseconds(), resolve: resolve, open: map[string]*incident{}}
}

// raise decides crossing cr of the group id at event time t, by the event at offset:
// sent (cross called) or suppressed.
func (s *State) raise(id []byte, t, offset int64, cr Crossing, cross func(Crossing)) {
	l := s.life
	if l == nil {
		cross(cr)
		return
	}
	if in, ok := l.open[string(id)]; ok {
		s.bump(&s.stats.Suppressed, 1)
		if l.resolve && cr.End > in.closes {
			in.closes = cr.End // its entry in due moves when it comes due
		}
		return
	}
	if int64(len(l.open)) >= s.maxGroups {
		// Sent, but not tracked: the next crossing is sent too, and no resolved record
		// follows. Degraded says so.
		s.bump(&s.stats.IncidentsDropped, 1)
		cross(cr)
		return
	}
	in := &incident{opened: t, closes: t + l.suppress, start: cr.Start, end: cr.End, count: cr.Count, value: cr.Value, silent: offset < s.silentBelow}
	if l.resolve && cr.End > in.closes {
		in.closes = cr.End
	}
	key := string(id)
	l.open[key] = in
	heap.Push(&l.due, due{at: in.closes, id: key})
	cross(cr)
}

// closeIncidents closes the incidents whose close time is at or below watermark,
// sending a resolved record for each when the rule resolves.
func (s *State) closeIncidents(watermark int64, cross func(Crossing)) {
	l := s.life
	if l == nil {
		return
	}
	for len(l.due) > 0 && l.due[0].at <= watermark {
		d := heap.Pop(&l.due).(due)
		in, ok := l.open[d.id]
		switch {
		case !ok || in.closes < d.at:
			continue // stale: closed, or another incident of the group has its own entry
		case in.closes > d.at:
			// Extended since: due again at its close time, in this loop if the
			// watermark reaches that too, keeping the (close time, group id) order.
			d.at = in.closes
			heap.Push(&l.due, d)
			continue
		}
		delete(l.open, d.id)
		if l.resolve && !in.silent {
			id := []byte(d.id)
			split := splitID(id)
			cross(Crossing{Customer: string(customerOf(id)), Group: id[split:], Windowed: true, Start: in.start, End: in.end,
				Count: in.count, Value: in.value, Resolved: true})
		}
	}
}

// EndIncidents closes every open incident, as the end of the rule version that holds
// the state does (replaced or deleted): for a rule with resolve each incident whose
// firing alert was sent gets its resolved record, in (close time, group id) order, so
// that an alert is not left firing by a rule that no longer runs. The state is not
// used after.
func (s *State) EndIncidents(cross func(Crossing)) {
	s.closeIncidents(math.MaxInt64, cross)
}

// Silence marks the open incident of customer's group, opened by the crossing of the
// window starting at start, as one whose firing alert was never sent: it suppresses
// as before, and closes without a resolved record, which would end an alert nobody
// received. A live hand-off calls it for history's incidents when their alerts are
// held back (backfill.alert off). It reports whether there was such an incident.
func (s *State) Silence(customer string, group []byte, start int64) bool {
	if s.life == nil {
		return false
	}
	id := binary.AppendUvarint(nil, uint64(len(customer)))
	id = append(append(id, customer...), group...)
	in, ok := s.life.open[string(id)]
	if !ok || in.start != start {
		return false
	}
	in.silent = true
	return true
}

// SilenceBelow makes the incidents that events at offsets below offset open from now
// on silent, as Silence does: a hand-off replaying history whose alerts it holds back
// sets its version's start offset, so that neither their firings nor their resolves
// are sent. Remembering each such incident to silence it after the replay held one
// entry per history crossing (1,440 an event for hopping windows) until the end.
// Events at offset and above, live's, are not affected.
func (s *State) SilenceBelow(offset int64) { s.silentBelow = offset }

// Incidents is the number of open incidents (alerts sent whose suppression or resolve
// is pending).
func (s *State) Incidents() int {
	if s.life == nil {
		return 0
	}
	return len(s.life.open)
}

type due struct {
	at int64
	id string
}

type dueHeap []due

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].id < h[j].id
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(due)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
