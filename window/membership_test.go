package window_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/window"
)

// span is an open window's bounds and count.
type span struct{ Start, End, Count int64 }

// TestWindowMembership checks that an event lands in every window [k·every,
// k·every+size) containing its time, windows aligned to the Unix epoch, on both sides of
// it. Lateness is an hour so that no window closes and order does not matter here.
func TestWindowMembership(t *testing.T) {
	const s = 1000 // ms per second
	tests := []struct {
		name   string
		window string
		times  []int64
		want   []span
	}{
		{"tumbling, end excluded", `{"size":"10s"}`, []int64{0, 9999, 10000},
			[]span{{0, 10 * s, 2}, {10 * s, 20 * s, 1}}},
		{"tumbling, negative times floor", `{"size":"10s"}`, []int64{-1, -10000, -10001},
			[]span{{-20 * s, -10 * s, 1}, {-10 * s, 0, 2}}},
		{"tumbling, unaligned first event", `{"size":"10s"}`, []int64{12345},
			[]span{{10 * s, 20 * s, 1}}},
		{"hopping, each time in size/every windows", `{"size":"10s","every":"5s"}`, []int64{0, 7000},
			[]span{{-5 * s, 5 * s, 1}, {0, 10 * s, 2}, {5 * s, 15 * s, 1}}},
		{"hopping, negative", `{"size":"10s","every":"5s"}`, []int64{-1},
			[]span{{-10 * s, 0, 1}, {-5 * s, 5 * s, 1}}},
		{"hopping, boundary time starts a window", `{"size":"3s","every":"1s"}`, []int64{2000},
			[]span{{0, 3 * s, 1}, {1 * s, 4 * s, 1}, {2 * s, 5 * s, 1}}},
		{"hopping, every = size is tumbling", `{"size":"2s","every":"2s"}`, []int64{1999, 2000},
			[]span{{0, 2 * s, 1}, {2 * s, 4 * s, 1}}},
		{"hour windows start on the hour (UTC)", `{"size":"1h"}`, []int64{ms("2024-05-06T07:30:00.5Z")},
			[]span{{ms("2024-05-06T07:00:00Z"), ms("2024-05-06T08:00:00Z"), 1}}},
		{"day windows start at UTC midnight", `{"size":"1d"}`, []int64{ms("2024-03-10T23:59:59.999Z")},
			[]span{{ms("2024-03-10T00:00:00Z"), ms("2024-03-11T00:00:00Z"), 1}}},
		// The epoch was a Thursday, so epoch-aligned weeks run Thursday to Thursday.
		{"week windows start on Thursdays", `{"size":"7d"}`, []int64{ms("2024-01-01T12:00:00Z")},
			[]span{{ms("2023-12-28T00:00:00Z"), ms("2024-01-04T00:00:00Z"), 1}}},
		{"pre-epoch day", `{"size":"1d"}`, []int64{ms("1969-12-31T12:00:00Z")},
			[]span{{ms("1969-12-31T00:00:00Z"), 0, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRule(t, fmt.Sprintf(`"window":%s,"lateness":"1h","threshold":1e9`, tt.window))
			var events []in
			for _, at := range tt.times {
				events = append(events, in{"c", `{}`, at})
			}
			st, crossings := run(t, r, window.Limits{}, events...)
			if len(crossings) != 0 {
				t.Errorf("crossings %v, want none below the threshold", crossings)
			}
			var got []span
			for _, w := range st.Windows("") {
				if !w.Windowed {
					t.Errorf("window %+v is not windowed", w)
				}
				got = append(got, span{w.Start, w.End, w.Count})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("windows %v, want %v", got, tt.want)
			}
			if st.WindowCount() != len(tt.want) || st.GroupCount() != 1 {
				t.Errorf("WindowCount %d GroupCount %d, want %d and 1", st.WindowCount(), st.GroupCount(), len(tt.want))
			}
		})
	}
}

// TestWindowTimes checks the bounds as times that reports print: UTC, and nil for a
// running total (which has no bounds).
func TestWindowTimes(t *testing.T) {
	st, _ := run(t, mustRule(t, `"window":{"size":"1h"},"threshold":1e9`), window.Limits{},
		in{"c", `{}`, ms("2024-05-06T07:30:00Z")})
	ws := st.Windows("c")
	if len(ws) != 1 {
		t.Fatalf("windows %+v, want one", ws)
	}
	if got, want := ws[0].StartTime(), time.Date(2024, 5, 6, 7, 0, 0, 0, time.UTC); got == nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("StartTime %v, want %v", got, want)
	}
	if got, want := ws[0].EndTime(), time.Date(2024, 5, 6, 8, 0, 0, 0, time.UTC); got == nil || !got.Equal(want) {
		t.Errorf("EndTime %v, want %v", got, want)
	}

	// A running total: sum without window.
	st, _ = run(t, mustRule(t, `"aggregate":{"fn":"sum","path":"$.v"},"threshold":1e9`), window.Limits{},
		in{"c", `{"v":2}`, 5}, in{"c", `{"v":3}`, 6})
	ws = st.Windows("")
	if len(ws) != 1 {
		t.Fatalf("windows %+v, want one running total", ws)
	}
	w := ws[0]
	if w.Windowed || w.Start != 0 || w.End != 0 || w.StartTime() != nil || w.EndTime() != nil {
		t.Errorf("running total %+v has bounds %v %v, want none", w, w.StartTime(), w.EndTime())
	}
	if w.Count != 2 || w.Value != 5 {
		t.Errorf("running total count %d value %v, want 2 and 5", w.Count, w.Value)
	}
}
