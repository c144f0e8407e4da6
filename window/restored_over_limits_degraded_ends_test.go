package window_test

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestRestoredOverLimitsStopsBeingDegradedAtTheLimit holds Degraded to its word for a
// state restored under lower limits: "new groups are not kept until enough close",
// and a count_distinct window over the limit only until it closes. Once the open groups
// are back at MaxGroups (not above), or the watermark reaches the over-limit window's
// end (the window closes there), the state holds nothing beyond its limits and its
// figures are exact again: Degraded must be empty, else the rule stays marked degraded
// with nothing wrong, for as long as the groups stay at the limit.
func TestRestoredOverLimitsStopsBeingDegradedAtTheLimit(t *testing.T) {
	t.Run("max_groups", func(t *testing.T) {
		// Groups 0–4 in window [0, 1m), 5–9 in [1m, 2m); the lateness of 1m keeps
		// the first window open until an event at 2m.
		r := mustRule(t, `"group_by":["$.g"],"window":{"size":"1m"},"lateness":"1m","threshold":1000`)
		var evs []in
		for i := range 10 {
			evs = append(evs, in{"c", fmt.Sprintf(`{"g":%d}`, i), int64(i/5*60_000 + i + 1)})
		}
		s, _ := run(t, r, window.Limits{}, evs...)
		if s.GroupCount() != 10 {
			t.Fatalf("before: %d groups, want 10", s.GroupCount())
		}
		d, _, err := window.Decode(r, window.Limits{MaxGroups: 5}, s.AppendTo(nil))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if d.Degraded() == "" {
			t.Fatalf("restored with 10 groups under max 5: Degraded is empty")
		}
		// Group 9 again at 2m: the watermark (2m − 1m) closes [0, 1m), and groups 0–4 go.
		f := newFeeder()
		f.add(t, d, in{"c", `{"g":9}`, 120_000})
		if d.GroupCount() != 5 {
			t.Fatalf("after [0, 1m) closed: %d groups, want 5", d.GroupCount())
		}
		if got := d.Degraded(); got != "" {
			t.Errorf("5 open groups under max 5, nothing dropped: Degraded = %q, want empty", got)
		}
	})
	t.Run("max_distinct", func(t *testing.T) {
		r := mustRule(t, `"aggregate":{"fn":"count_distinct","path":"$.v"},"window":{"size":"1h"},"threshold":1000`)
		var evs []in
		for i := range 10 {
			evs = append(evs, in{"c", fmt.Sprintf(`{"v":%d}`, i), int64(i + 1)})
		}
		s, _ := run(t, r, window.Limits{}, evs...)
		d, _, err := window.Decode(r, window.Limits{MaxDistinct: 5}, s.AppendTo(nil))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if d.Degraded() == "" {
			t.Fatalf("restored with a window of 10 values under max 5: Degraded is empty")
		}
		// An event at 1h, the over-limit window's end: the watermark closes it.
		f := newFeeder()
		f.add(t, d, in{"c", `{"v":0}`, 3_600_000})
		ws := openWindows(d, "c")
		if len(ws) != 1 || ws[0].Start != 3_600_000 || ws[0].Value != 1 {
			t.Fatalf("open windows after 1h: %+v, want only [1h, 2h) with 1 value", ws)
		}
		if wm, _ := d.Watermark(); wm != 3_600_000 {
			t.Fatalf("watermark %d, want 3600000", wm)
		}
		if got := d.Degraded(); got != "" {
			t.Errorf("the window of 10 values closed at the watermark 1h: Degraded = %q, want empty", got)
		}
	})
}
