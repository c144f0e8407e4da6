package window

import (
	"slices"
	"strings"
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
	for _, g := range s.groups {
		if c := g.customer(); !seen[c] {
			seen[c] = true
			fn(c)
		}
	}
}

// Windows lists customer's open windows ("" for every customer's), in a fixed order:
// by group (customer first), then start.
func (s *State) Windows(customer string) []Window {
	var out []Window
	for _, g := range s.sortedGroups() {
		c := g.customer()
		if customer != "" && c != customer {
			continue
		}
		for i := range g.cells {
			out = append(out, s.window(g, i))
		}
	}
	return out
}

func (s *State) window(g *group, i int) Window {
	c := &g.cells[i]
	// Every contribution to min or max sets its value, so a cell with a count has one.
	w := Window{Customer: g.customer(), Group: g.key(), Count: c.n(), Fired: c.alerted(), Value: s.value(g, i), HasValue: c.n() > 0}
	if s.size > 0 {
		w.Windowed, w.Start, w.End = true, c.start, c.start+s.size
	}
	return w
}

// sortedGroups are the groups in id order (customer length, customer, group key):
// encodings and reports come out the same for the same state.
func (s *State) sortedGroups() []*group {
	gs := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(a, b *group) int { return strings.Compare(a.id, b.id) })
	return gs
}
