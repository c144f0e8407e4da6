package window_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestThresholdOps checks each operator: a window alerts after the first contributing
// event that makes its aggregate pass, and never again, whatever later events do.
func TestThresholdOps(t *testing.T) {
	tests := []struct {
		name      string
		aggregate string
		threshold string
		values    []string // each event's v, "" for an event without it
		want      []crossing
	}{
		{"> passes above, not at", `{"fn":"sum","path":"$.v"}`, `{"op":">","value":5}`,
			[]string{"3", "2", "1", "10"}, []crossing{{Count: 3, Value: 6}}},
		{">= passes at", `{"fn":"sum","path":"$.v"}`, `5`,
			[]string{"3", "2", "1"}, []crossing{{Count: 2, Value: 5}}},
		{">= as an object", `{"fn":"sum","path":"$.v"}`, `{"op":">=","value":5}`,
			[]string{"6"}, []crossing{{Count: 1, Value: 6}}},
		{"< passes below; dipping again does not re-alert", `{"fn":"sum","path":"$.v"}`, `{"op":"<","value":0}`,
			[]string{"3", "-5", "10", "-20"}, []crossing{{Count: 2, Value: -2}}},
		{"<= passes at", `{"fn":"sum","path":"$.v"}`, `{"op":"<=","value":0}`,
			[]string{"3", "-3", "-1"}, []crossing{{Count: 2, Value: 0}}},
		{"== passes at exactly, once", `{"fn":"sum","path":"$.v"}`, `{"op":"==","value":5}`,
			[]string{"3", "2", "0", "-1", "1"}, []crossing{{Count: 2, Value: 5}}},
		{"== never passed by a jump over", `{"fn":"sum","path":"$.v"}`, `{"op":"==","value":5}`,
			[]string{"3", "3"}, nil},
		{"== on avg", `{"fn":"avg","path":"$.v"}`, `{"op":"==","value":3}`,
			[]string{"2", "4", "3"}, []crossing{{Count: 2, Value: 3}}},
		{"< on count passes at the first event", `{"fn":"count"}`, `{"op":"<","value":3}`,
			[]string{"", ""}, []crossing{{Count: 1, Value: 1}}},
		{"> on max", `{"fn":"max","path":"$.v"}`, `{"op":">","value":10}`,
			[]string{"1", "11", "12"}, []crossing{{Count: 2, Value: 11}}},
		{"<= on min", `{"fn":"min","path":"$.v"}`, `{"op":"<=","value":-1}`,
			[]string{"0", "-1", "-2"}, []crossing{{Count: 2, Value: -1}}},
		{">= on count_distinct", `{"fn":"count_distinct","path":"$.v"}`, `2`,
			[]string{"1", "1.0", "2", "3"}, []crossing{{Count: 3, Value: 2}}},
		// Only an event that contributes is a moment to alert at: an event without a
		// number neither opens the window nor tests it.
		{"< needs a contributing event", `{"fn":"sum","path":"$.v"}`, `{"op":"<","value":1}`,
			[]string{"", "", "5"}, nil},
		{"negative threshold", `{"fn":"min","path":"$.v"}`, `{"op":"<","value":-1.5}`,
			[]string{"-1.5", "-1.6"}, []crossing{{Count: 2, Value: -1.6}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRule(t, fmt.Sprintf(`"aggregate":%s,"threshold":%s,"window":{"size":"10s"}`, tt.aggregate, tt.threshold))
			var events []in
			for i, v := range tt.values {
				doc := `{}`
				if v != "" {
					doc = `{"v":` + v + `}`
				}
				events = append(events, in{"c", doc, int64(i)})
			}
			st, got := run(t, r, window.Limits{}, events...)
			var want []crossing
			for _, c := range tt.want {
				c.Customer, c.Windowed, c.Start, c.End = "c", true, 0, 10000
				want = append(want, c)
			}
			if !slices.Equal(got, want) {
				t.Errorf("crossings %v, want %v", got, want)
			}
			for _, w := range st.Windows("") {
				if w.Fired != (len(want) > 0) {
					t.Errorf("window %+v Fired %v, want %v", w, w.Fired, len(want) > 0)
				}
			}
		})
	}
}

// TestThresholdOncePerWindow checks that the at-most-once rule is per (customer, group,
// window): the same figures elsewhere alert again, and one event can take several
// hopping windows across, reported in start order.
func TestThresholdOncePerWindow(t *testing.T) {
	r := mustRule(t, `"window":{"size":"20s","every":"10s"},"group_by":["$.g"],"lateness":"1m","threshold":2,"alert":{"suppress":"0s"}`) // every crossing sent: the windows alone
	a, b := gk(`"a"`), gk(`"b"`)
	_, got := run(t, r, window.Limits{},
		in{"c1", `{"g":"a"}`, 15000}, // windows 0 and 10s
		in{"c1", `{"g":"a"}`, 15000}, // both pass 2
		in{"c1", `{"g":"a"}`, 16000}, // already fired
		in{"c1", `{"g":"b"}`, 5000},  // window -10s and 0
		in{"c2", `{"g":"a"}`, 1000},
		in{"c1", `{"g":"b"}`, 9000}, // b's two windows pass
		in{"c2", `{"g":"a"}`, 1000}, // another customer's group "a"
		in{"c1", `{"g":"a"}`, 25000},
		in{"c1", `{"g":"a"}`, 29999}, // a's window 20s passes; 10s fired already
	)
	want := []crossing{
		{"c1", a, true, 0, 20000, 2, 2, false},
		{"c1", a, true, 10000, 30000, 2, 2, false},
		{"c1", b, true, -10000, 10000, 2, 2, false},
		{"c1", b, true, 0, 20000, 2, 2, false},
		{"c2", a, true, -10000, 10000, 2, 2, false},
		{"c2", a, true, 0, 20000, 2, 2, false},
		{"c1", a, true, 20000, 40000, 2, 2, false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("crossings\n%v\nwant\n%v", got, want)
	}
}
