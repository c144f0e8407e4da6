package window_test

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestAggregates checks each aggregate function over one window, and that an event
// without the value it needs contributes nothing: no count, no group, no window.
func TestAggregates(t *testing.T) {
	tests := []struct {
		name      string
		aggregate string
		values    []string // each event's document
		count     int64    // contributing events; 0: no window at all
		value     float64
		hasValue  bool
	}{
		{"count counts every event", `{"fn":"count"}`,
			[]string{`{}`, `{"v":"x"}`, `{"v":null}`}, 3, 3, true},
		{"count_distinct by JSON value", `{"fn":"count_distinct","path":"$.v"}`,
			[]string{`{"v":1}`, `{"v":1.0}`, `{"v":"1"}`, `{"v":null}`, `{"v":{"a":1,"b":2}}`, `{"v":{"b":2,"a":1}}`, `{}`},
			6, 4, true},
		{"count_distinct takes the first node", `{"fn":"count_distinct","path":"$.v[*]"}`,
			[]string{`{"v":["a","b"]}`, `{"v":["a"]}`, `{"v":["b","a"]}`, `{"v":[]}`},
			3, 2, true},
		{"sum skips non-numbers and non-finite numbers", `{"fn":"sum","path":"$.v"}`,
			[]string{`{"v":1}`, `{"v":2.5}`, `{"v":"3"}`, `{"v":true}`, `{"v":null}`, `{}`, `{"v":[4]}`, `{"v":1e400}`},
			2, 3.5, true},
		{"sum adds in event order", `{"fn":"sum","path":"$.v"}`,
			[]string{`{"v":0.1}`, `{"v":0.2}`}, 2, 0.30000000000000004, true}, // float64 0.1 + 0.2
		{"sum takes the first number selected", `{"fn":"sum","path":"$.v[*]"}`,
			[]string{`{"v":["x",2,3]}`, `{"v":[null,{"a":1},5]}`, `{"v":["y"]}`}, 2, 7, true},
		{"min", `{"fn":"min","path":"$.v"}`,
			[]string{`{"v":5}`, `{"v":-2}`, `{"v":"-9"}`, `{"v":3}`}, 3, -2, true},
		{"max", `{"fn":"max","path":"$.v"}`,
			[]string{`{"v":-5}`, `{"v":-2}`, `{"v":"9"}`, `{"v":-3}`}, 3, -2, true},
		{"avg", `{"fn":"avg","path":"$.v"}`,
			[]string{`{"v":1}`, `{"v":2}`, `{"v":"x"}`, `{"v":4}`}, 3, 7.0 / 3, true},
		{"avg of opposites", `{"fn":"avg","path":"$.v"}`,
			[]string{`{"v":-1.5}`, `{"v":1.5}`}, 2, 0, true},
		{"min without any number has no window", `{"fn":"min","path":"$.v"}`,
			[]string{`{"v":"1"}`, `{}`, `{"v":false}`}, 0, 0, false},
		{"count_distinct without the path has no window", `{"fn":"count_distinct","path":"$.v"}`,
			[]string{`{}`, `{"w":1}`}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRule(t, fmt.Sprintf(`"aggregate":%s,"window":{"size":"1h"},"group_by":["$.g"],"threshold":1e9`, tt.aggregate))
			var events []in
			for _, v := range tt.values {
				events = append(events, in{"c", v, 1000})
			}
			st, crossings := run(t, r, window.Limits{}, events...)
			if len(crossings) != 0 {
				t.Errorf("crossings %v, want none", crossings)
			}
			ws := openWindows(st, "")
			if tt.count == 0 {
				if len(ws) != 0 || st.GroupCount() != 0 || st.WindowCount() != 0 {
					t.Errorf("windows %+v (GroupCount %d), want none", ws, st.GroupCount())
				}
				return
			}
			want := win{"c", gk(`null`), 0, 3600_000, tt.count, tt.value, tt.hasValue, false}
			if len(ws) != 1 || ws[0] != want {
				t.Errorf("windows %+v, want %+v", ws, want)
			}
		})
	}
}

// TestAggregateRunningTotal checks that the aggregates work the same without a
// window: one running total per group.
func TestAggregateRunningTotal(t *testing.T) {
	for _, tt := range []struct {
		fn    string
		value float64
	}{{"count", 4}, {"count_distinct", 3}, {"sum", 1}, {"min", -1}, {"max", 2}, {"avg", 0.25}} {
		t.Run(tt.fn, func(t *testing.T) {
			agg := fmt.Sprintf(`{"fn":%q,"path":"$.v"}`, tt.fn)
			if tt.fn == "count" {
				agg = `{"fn":"count"}`
			}
			r := mustRule(t, `"threshold":1e9,"aggregate":`+agg)
			st, _ := run(t, r, window.Limits{}, in{"c", `{"v":2}`, 1}, in{"c", `{"v":-1}`, 2}, in{"c", `{"v":1}`, 3}, in{"c", `{"v":-1}`, 4})
			ws := openWindows(st, "c")
			if len(ws) != 1 || ws[0].Value != tt.value || ws[0].Count != 4 || ws[0].Start != 0 || ws[0].End != 0 {
				t.Errorf("windows %+v, want one running total of 4 events, value %v", ws, tt.value)
			}
		})
	}
}
