package window_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestLateness checks the watermark (largest earlier event time minus lateness), that
// events below it are late and do not count, and that a window whose end is at or
// below it is closed: gone from Windows, WindowCount and, with its last window, from
// GroupCount.
func TestLateness(t *testing.T) {
	// gw is an open window: group value, start, count.
	type gw struct {
		Group string
		Start int64
		Count int64
	}
	tests := []struct {
		name   string
		fields string
		events []in
		late   uint64
		wm     int64
		want   []gw
		groups int
	}{
		{"an event below the watermark is late and does not count",
			`"window":{"size":"10s"}`,
			[]in{{"c", `{"g":"a"}`, 5000}, {"c", `{"g":"a"}`, 12000}, {"c", `{"g":"a"}`, 11999}},
			1, 12000, []gw{{``, 10000, 1}}, 1},
		{"an event at the watermark counts; duplicate times are not late",
			`"window":{"size":"10s"}`,
			[]in{{"c", `{"g":"a"}`, 12000}, {"c", `{"g":"a"}`, 12000}, {"c", `{"g":"a"}`, 12000}},
			0, 12000, []gw{{``, 10000, 3}}, 1},
		{"lateness keeps a window open and admits events behind the newest",
			`"window":{"size":"10s"},"lateness":"5s"`,
			[]in{{"c", `{"g":"a"}`, 5000}, {"c", `{"g":"a"}`, 12000}, {"c", `{"g":"a"}`, 8000}, {"c", `{"g":"a"}`, 6999}},
			1, 7000, []gw{{``, 0, 2}, {``, 10000, 1}}, 1},
		{"a window closes when its end reaches the watermark",
			`"window":{"size":"10s"},"lateness":"5s"`,
			[]in{{"c", `{"g":"a"}`, 5000}, {"c", `{"g":"a"}`, 14999}, {"c", `{"g":"a"}`, 15000}, {"c", `{"g":"a"}`, 9999}},
			1, 10000, []gw{{``, 10000, 2}}, 1},
		{"a group goes with its last window",
			`"window":{"size":"10s"},"group_by":["$.g"]`,
			[]in{{"c", `{"g":"a"}`, 1000}, {"c", `{"g":"b"}`, 2000}, {"c", `{"g":"a"}`, 25000}},
			0, 25000, []gw{{`"a"`, 20000, 1}}, 1},
		{"late events do not move the watermark",
			`"window":{"size":"10s"},"group_by":["$.g"]`,
			[]in{{"c", `{"g":"a"}`, 25000}, {"c", `{"g":"b"}`, 1000}, {"c", `{"g":"b"}`, 24000}},
			2, 25000, []gw{{`"a"`, 20000, 1}}, 1},
		{"hopping windows close one by one",
			`"window":{"size":"10s","every":"5s"},"group_by":["$.g"]`,
			[]in{{"c", `{"g":"a"}`, 6000}, {"c", `{"g":"b"}`, 10000}},
			0, 10000, []gw{{`"a"`, 5000, 1}, {`"b"`, 5000, 1}, {`"b"`, 10000, 1}}, 2},
		// An event that contributes nothing still moves the watermark, so it can close
		// windows.
		{"an event without a number moves the watermark",
			`"window":{"size":"10s"},"aggregate":{"fn":"sum","path":"$.v"},"group_by":["$.g"]`,
			[]in{{"c", `{"g":"a","v":1}`, 1000}, {"c", `{"g":"a","v":"x"}`, 30000}, {"c", `{"g":"a","v":2}`, 29999}},
			1, 30000, nil, 0},
		// The watermark is per rule and partition, not per customer.
		{"one customer's events make another's late",
			`"window":{"size":"10s"}`,
			[]in{{"c1", `{}`, 30000}, {"c2", `{}`, 1000}},
			1, 30000, []gw{{``, 30000, 1}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRule(t, tt.fields+`,"threshold":1e9`)
			st, _ := run(t, r, window.Limits{}, tt.events...)
			var got []gw
			for _, w := range st.Windows("") {
				g := ""
				if len(w.Group) > 0 {
					g = keyText(string(w.Group))
					g = g[1 : len(g)-1]
				}
				got = append(got, gw{g, w.Start, w.Count})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("open windows %v, want %v", got, tt.want)
			}
			if st.WindowCount() != len(tt.want) || st.GroupCount() != tt.groups {
				t.Errorf("WindowCount %d GroupCount %d, want %d and %d", st.WindowCount(), st.GroupCount(), len(tt.want), tt.groups)
			}
			if got := st.Stats(); got != (window.Stats{Late: tt.late}) {
				t.Errorf("stats %+v, want Late %d only", got, tt.late)
			}
			if wm, ok := st.Watermark(); !ok || wm != tt.wm {
				t.Errorf("watermark %d %v, want %d true", wm, ok, tt.wm)
			}
		})
	}
}

// TestRunningTotalHasNoLateness: a rule without window counts every matched event, as
// a plain count does, whatever its record time: it has no watermark, nothing is late,
// and a record time beyond the range windows allow is no error.
func TestRunningTotalHasNoLateness(t *testing.T) {
	r := mustRule(t, `"aggregate":{"fn":"sum","path":"$.v"},"threshold":1e9`)
	st, _ := run(t, r, window.Limits{}, in{"c", `{"v":1}`, 1000}, in{"c", `{"v":1}`, 1e12}, in{"c", `{"v":1}`, 5000}, in{"c", `{"v":1}`, 9e15})
	ws := st.Windows("")
	if len(ws) != 1 || ws[0].Count != 4 || ws[0].Value != 4 || ws[0].Windowed {
		t.Errorf("windows %+v, want one running total of 4 events, value 4", ws)
	}
	if got := st.Stats(); got != (window.Stats{}) {
		t.Errorf("stats %+v, want none late or without time", got)
	}
	if _, ok := st.Watermark(); ok {
		t.Errorf("a running total has a watermark")
	}
}

// TestWatermarkBeforeEvents checks that a state without an event time has no
// watermark, so that its first event, however old, is never late.
func TestWatermarkBeforeEvents(t *testing.T) {
	r := mustRule(t, `"window":{"size":"10s"},"time":"$.t","lateness":"3s","threshold":1e9`)
	st := window.New(r, window.Limits{})
	if _, ok := st.Watermark(); ok {
		t.Error("an empty state has a watermark")
	}
	f := newFeeder()
	f.add(t, st, in{"c", `{"t":"not a time"}`, 0})
	if _, ok := st.Watermark(); ok {
		t.Error("an event without a usable time made a watermark")
	}
	f.add(t, st, in{"c", `{"t":-5000}`, 0})
	if wm, ok := st.Watermark(); !ok || wm != -8000 {
		t.Errorf("watermark %d %v, want -8000 true", wm, ok)
	}
	if got := st.Stats(); got != (window.Stats{TimeErrors: 1}) {
		t.Errorf("stats %+v, want TimeErrors 1", got)
	}
}

// TestClosingFreesEveryWindow drives many groups through many windows and checks that
// the state holds only the windows still open, so that memory is bounded by the open
// windows, not by history.
func TestClosingFreesEveryWindow(t *testing.T) {
	for _, fn := range []string{`"aggregate":{"fn":"count"}`, `"aggregate":{"fn":"count_distinct","path":"$.g"}`} {
		t.Run(fn, func(t *testing.T) {
			r := mustRule(t, fn+`,"window":{"size":"4s","every":"1s"},"group_by":["$.g"],"threshold":1e9`)
			st := window.New(r, window.Limits{})
			f := newFeeder()
			for i := range 2000 {
				f.add(t, st, in{"c", fmt.Sprintf(`{"g":%d}`, i%7), int64(i) * 100})
			}
			// The newest time is 199,900: open windows end after it, so they start
			// at 196,000 to 199,000, four per group.
			if st.WindowCount() != 7*4 || st.GroupCount() != 7 {
				t.Errorf("WindowCount %d GroupCount %d, want 28 and 7", st.WindowCount(), st.GroupCount())
			}
			for _, w := range st.Windows("") {
				if w.Start < 196000 || w.End <= 199900 {
					t.Errorf("window [%d, %d) is still open at watermark 199900", w.Start, w.End)
				}
			}
		})
	}
}
