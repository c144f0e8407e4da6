package window_test

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestOutOfOrderWindowClosesAtItsEnd checks that a window opened out of order (a late
// event, within lateness, whose window starts before the latest one open) closes when
// the watermark reaches its end, not one millisecond after: the group it held goes and
// frees its place under max_groups, so the next new group is counted, not dropped.
func TestOutOfOrderWindowClosesAtItsEnd(t *testing.T) {
	r := mustRule(t, `"group_by":["$.g"],"window":{"size":"10s"},"lateness":"10s","threshold":1e9`)
	st, _ := run(t, r, window.Limits{MaxGroups: 2},
		in{"c", `{"g":"x"}`, 25_000}, // window [20 s, 30 s)
		in{"c", `{"g":"a"}`, 15_000}, // within lateness: window [10 s, 20 s), opened out of order
		in{"c", `{"g":"x"}`, 30_000}, // watermark 20 s: [10 s, 20 s) closes, a goes
		in{"c", `{"g":"b"}`, 31_000}, // a new group, in the place a left
	)
	if got := st.Stats(); got != (window.Stats{}) {
		t.Errorf("stats %+v, want none dropped (the group of the closed window still held its place)", got)
	}
	if got := st.Degraded(); got != "" {
		t.Errorf("Degraded() = %q, want \"\"", got)
	}
	want := []win{
		{"c", gk(`"b"`), 30_000, 40_000, 1, 1, true, false},
		{"c", gk(`"x"`), 20_000, 30_000, 1, 1, true, false},
		{"c", gk(`"x"`), 30_000, 40_000, 1, 1, true, false},
	}
	if got := openWindows(st, ""); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("windows\n%+v\nwant\n%+v", got, want)
	}
	if got := st.GroupCount(); got != 2 {
		t.Errorf("GroupCount() = %d, want 2 (x and b)", got)
	}
}
