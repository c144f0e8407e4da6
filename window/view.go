package window

import (
	"bytes"
	"slices"
	"time"
)

// Window is one open window's figures, for reports (/v1/counts, tests, previews).
type Window struct {
	Customer string
	// Group is the canonical group key (GroupJSON renders it).
	Group    []byte
	Windowed bool
	// Start and End are Unix ms, zero for a running total.
	Start, End int64
	Count      int64
	// Value is the aggregate; HasValue is false for min, max and avg over no value.
	Value    float64
	HasValue bool
	Fired    bool
}

// StartTime and EndTime are the window's bounds as times (nil for a running total).
func (w *Window) StartTime() *time.Time { return msTime(w.Windowed, w.Start) }
func (w *Window) EndTime() *time.Time   { return msTime(w.Windowed, w.End) }

func msTime(ok bool, ms int64) *time.Time {
	if !ok {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// Customers calls fn with each customer that has open windows, in no order.
func (s *State) Customers(fn func(customer string)) {
	seen := map[string]bool{}
	for slot := range s.liveSlots() {
		if c := customerOf(s.idOf(slot)); !seen[string(c)] {
			cs := string(c)
			seen[cs] = true
			fn(cs)
		}
	}
}

// Windows lists customer's open windows ("" for every customer's), in a fixed order:
// by group (customer first), then start.
func (s *State) Windows(customer string) []Window {
	var out []Window
	var names customerNames
	for _, slot := range s.sortedSlots(customer) {
		out = s.appendWindows(out, slot, names.of(s.idOf(slot)))
	}
	return out
}

// appendWindows appends slot's windows, in start order, for customer cust.
func (s *State) appendWindows(out []Window, slot uint32, cust string) []Window {
	id := s.idOf(slot)
	key := id[splitID(id):]
	for ow := range s.windowsOf(slot) {
		c, set := ow.c, ow.set
		// Every contribution to min or max sets its value, so a cell with a count has
		// one. Each window has its own copy of the key: callers may keep or change it.
		w := Window{Customer: cust, Group: append([]byte{}, key...), Count: c.n(), Fired: c.alerted(), Value: s.value(c, set), HasValue: c.n() > 0}
		if s.size > 0 {
			w.Windowed, w.Start, w.End = true, ow.start, ow.start+s.size
		}
		out = append(out, w)
	}
	return out
}

// customerNames makes the customer strings of windows, reusing the last one while
// groups of one customer follow each other (as in id order): a string per customer
// rather than per group.
type customerNames struct{ last string }

func (n *customerNames) of(id []byte) string {
	if c := customerOf(id); string(c) != n.last {
		n.last = string(c)
	}
	return n.last
}

// sortedSlots are the slots of customer's open groups ("" for every customer's) in id
// order (customer length, customer, group key): encodings and reports come out the same
// for the same state. A customer's are picked out before sorting: one customer's
// count is read under its partition's lock, and collecting and sorting every group of
// the rule for it had cost by every other customer's groups (a pass over the slots
// remains, which reads each id and allocates nothing).
func (s *State) sortedSlots(customer string) []uint32 {
	var slots []uint32
	if customer == "" {
		slots = make([]uint32, 0, s.live)
	}
	for slot := range s.liveSlots() {
		if customer == "" || string(customerOf(s.idOf(slot))) == customer {
			slots = append(slots, slot)
		}
	}
	slices.SortFunc(slots, func(a, b uint32) int { return bytes.Compare(s.idOf(a), s.idOf(b)) })
	return slots
}
