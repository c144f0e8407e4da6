package live

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/window"
)

// The read side of the rules kept per group and window (package window): their rows of
// /v1/counts and their figures in /v1/rules. The caller of each holds p.mu.

// windowCounts adds to counts, per customer of p, the largest count among its open
// windows of ar: what a windowed rule's count column shows.
func (p *partition) windowCounts(ar *controls.Version, counts map[string]int64) {
	ws := p.windows[ar]
	if ws == nil {
		return
	}
	ws.EachWindow(func(w *window.Window) {
		if n, ok := counts[w.Customer]; !ok || w.Count > n {
			counts[w.Customer] = w.Count
		}
	})
}

// customerWindows appends customer's open windows of ar in p.
func (p *partition) customerWindows(ar *controls.Version, customer string, dst []window.Window) []window.Window {
	if ws := p.windows[ar]; ws != nil {
		dst = append(dst, ws.Windows(customer)...)
	}
	return dst
}

// windowView fills v's Windows, WindowsTotal and Count from a customer's windows.
func windowView(ar *controls.Version, ws []window.Window, v *contract.CountView) {
	slices.SortStableFunc(ws, func(a, b window.Window) int {
		return cmp.Or(slices.Compare(a.Group, b.Group), cmp.Compare(a.Start, b.Start))
	})
	v.WindowsTotal = len(ws)
	v.Count = 0
	for i := range ws {
		w := &ws[i]
		v.Count = max(v.Count, w.Count)
		if i >= contract.MaxWindowsPerCount {
			continue
		}
		wv := contract.WindowValue{WindowStart: w.StartTime(), WindowEnd: w.EndTime(), Count: w.Count, Alerted: w.Fired}
		if w.HasValue {
			val := w.Value
			wv.Value = &val
		}
		// Keys were made by this build's window package: they always render.
		wv.Group, _ = window.GroupJSON(ar.Rule.GroupBy, w.Group)
		v.Windows = append(v.Windows, wv)
	}
}

// windowStats adds p's figures of ar to st; it returns false when ar has no window
// state in p.
func (p *partition) windowStats(ar *controls.Version, st *contract.WindowStats) bool {
	ws := p.windows[ar]
	if ws == nil {
		return false
	}
	s := ws.Stats()
	st.Groups += ws.GroupCount()
	st.Windows += ws.WindowCount()
	st.Late += s.Late
	st.TimeErrors += s.TimeErrors
	st.GroupsDropped += s.GroupsDropped
	st.DistinctDropped += s.DistinctDropped
	st.Overflows += s.Overflows
	st.KeysTooLong += s.KeysTooLong
	st.Suppressed += s.Suppressed
	st.Incidents += ws.Incidents()
	st.IncidentsDropped += s.IncidentsDropped
	if why := ws.Degraded(); why != "" && st.Degraded == "" {
		st.Degraded = fmt.Sprintf("partition %d: %s", p.id, why)
	}
	return true
}
