package live

import (
	"cmp"
	"fmt"
	"slices"
	"time"

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
	if why := windowDegraded(ws, time.Now()); why != "" && st.Degraded == "" {
		st.Degraded = fmt.Sprintf("partition %d: %s", p.id, why)
	}
	return true
}

// watermarkAhead is how far ahead of the clock a window state's watermark may be
// before its rule says its figures are lower bounds: event times a producer's clock
// skews ahead by less are taken for true.
const watermarkAhead = time.Hour

// windowDegraded says why ws's figures are lower bounds (window.State.Degraded), or
// that its watermark is ahead of the clock and events have been late since: one event
// dated in the future (a bad clock, a field in the wrong unit) moves the watermark
// there, and every event dated before it is late, for good. The state decides in event
// time alone, so that every evaluator gives one verdict; the clock only says here that
// the verdict is of a watermark no real event time has reached.
func windowDegraded(ws *window.State, now time.Time) string {
	if why := ws.Degraded(); why != "" {
		return why
	}
	wm, ok := ws.Watermark()
	if late := ws.Stats().Late; ok && late > 0 && time.UnixMilli(wm).After(now.Add(watermarkAhead)) {
		return fmt.Sprintf("its event-time watermark is at %s, %s ahead of the clock (an event dated in the future moved it there): %d events dated before it were late and not counted, and every such event will be",
			time.UnixMilli(wm).UTC().Format(time.RFC3339), time.UnixMilli(wm).Sub(now).Round(time.Second), late)
	}
	return ""
}
