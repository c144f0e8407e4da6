package window_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestLimitsFor checks where a state's limits come from: the evaluator's (defaults
// for zero), each overridden by the rule's own when it sets one, up or down.
func TestLimitsFor(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		lim    window.Limits
		want   window.Limits
	}{
		{"defaults", ``, window.Limits{}, window.Limits{MaxGroups: 100_000, MaxDistinct: 10_000, MaxKeyBytes: 4096}},
		{"evaluator's", ``, window.Limits{MaxGroups: 7, MaxDistinct: 8, MaxKeyBytes: 9}, window.Limits{MaxGroups: 7, MaxDistinct: 8, MaxKeyBytes: 9}},
		{"rule lowers", `"limits":{"max_groups":3}`, window.Limits{MaxGroups: 7}, window.Limits{MaxGroups: 3, MaxDistinct: 10_000, MaxKeyBytes: 4096}},
		{"rule raises", `"limits":{"max_groups":30,"max_distinct":40}`, window.Limits{MaxGroups: 7, MaxDistinct: 8}, window.Limits{MaxGroups: 30, MaxDistinct: 40, MaxKeyBytes: 4096}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := `"aggregate":{"fn":"count_distinct","path":"$.v"},"window":{"size":"1m"},"threshold":1e9`
			if tt.fields != "" {
				fields += "," + tt.fields
			}
			if got := tt.lim.For(mustRule(t, fields)); got != tt.want {
				t.Errorf("For = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestLimits checks that a new group beyond MaxGroups, a new distinct value beyond
// MaxDistinct and a sum that would overflow are not kept, and that each is counted and
// makes the state Degraded with its reason.
func TestLimits(t *testing.T) {
	tests := []struct {
		name     string
		fields   string
		lim      window.Limits
		events   []in
		stats    window.Stats
		degraded string
		want     []win
	}{
		{"a third group is refused at max 2; existing groups go on",
			`"group_by":["$.g"]`, window.Limits{MaxGroups: 2},
			[]in{{"c", `{"g":"a"}`, 1}, {"c", `{"g":"b"}`, 2}, {"c", `{"g":"c"}`, 3}, {"c", `{"g":"a"}`, 4}},
			window.Stats{GroupsDropped: 1}, "group limit 2 reached: 1 contributions to new groups not counted",
			[]win{{"c", gk(`"a"`), 0, 60000, 2, 2, true, false}, {"c", gk(`"b"`), 0, 60000, 1, 1, true, false}}},
		{"groups of all customers count together",
			`"group_by":["$.g"]`, window.Limits{MaxGroups: 1},
			[]in{{"c1", `{"g":"a"}`, 1}, {"c2", `{"g":"a"}`, 2}, {"c3", `{}`, 3}},
			window.Stats{GroupsDropped: 2}, "group limit 1 reached: 2 contributions to new groups not counted",
			[]win{{"c1", gk(`"a"`), 0, 60000, 1, 1, true, false}}},
		{"the rule's max_groups overrides the evaluator's",
			`"group_by":["$.g"],"limits":{"max_groups":1}`, window.Limits{MaxGroups: 100},
			[]in{{"c", `{"g":"a"}`, 1}, {"c", `{"g":"b"}`, 2}},
			window.Stats{GroupsDropped: 1}, "group limit 1 reached: 1 contributions to new groups not counted",
			[]win{{"c", gk(`"a"`), 0, 60000, 1, 1, true, false}}},
		// The watermark an event is judged by is that of the events before it, so the
		// event whose time closes every window still finds them open: it is refused,
		// and the next new group is kept.
		{"closed groups free their places, after the event that closes them",
			`"group_by":["$.g"]`, window.Limits{MaxGroups: 1},
			[]in{{"c", `{"g":"a"}`, 1}, {"c", `{"g":"b"}`, 60000}, {"c", `{"g":"c"}`, 60001}},
			window.Stats{GroupsDropped: 1}, "group limit 1 reached: 1 contributions to new groups not counted",
			[]win{{"c", gk(`"c"`), 60000, 120000, 1, 1, true, false}}},
		{"a new distinct value beyond max 2 is not kept but the event counts",
			`"aggregate":{"fn":"count_distinct","path":"$.v"}`, window.Limits{MaxDistinct: 2},
			[]in{{"c", `{"v":1}`, 1}, {"c", `{"v":2}`, 2}, {"c", `{"v":3}`, 3}, {"c", `{"v":1}`, 4}, {"c", `{"v":4}`, 5}},
			window.Stats{DistinctDropped: 2}, "distinct value limit 2 reached: 2 new values not counted",
			[]win{{"c", "", 0, 60000, 5, 2, true, false}}},
		{"max_distinct is per window",
			`"aggregate":{"fn":"count_distinct","path":"$.v"},"window":{"size":"1m","every":"30s"}`, window.Limits{MaxDistinct: 1},
			[]in{{"c", `{"v":1}`, 1}, {"c", `{"v":2}`, 30000}},
			window.Stats{DistinctDropped: 1}, "distinct value limit 1 reached: 1 new values not counted",
			[]win{{"c", "", 0, 60000, 2, 1, true, false}, {"c", "", 30000, 90000, 1, 1, true, false}}},
		{"the rule's max_distinct overrides the evaluator's",
			`"aggregate":{"fn":"count_distinct","path":"$.v"},"limits":{"max_distinct":1}`, window.Limits{MaxDistinct: 50},
			[]in{{"c", `{"v":1}`, 1}, {"c", `{"v":2}`, 2}},
			window.Stats{DistinctDropped: 1}, "distinct value limit 1 reached: 1 new values not counted",
			[]win{{"c", "", 0, 60000, 2, 1, true, false}}},
		{"a sum that would overflow is not applied",
			`"aggregate":{"fn":"sum","path":"$.v"}`, window.Limits{},
			[]in{{"c", `{"v":1e308}`, 1}, {"c", `{"v":1e308}`, 2}, {"c", `{"v":-1}`, 3}},
			window.Stats{Overflows: 1}, "1 values not added: the sum would overflow float64",
			[]win{{"c", "", 0, 60000, 2, 1e308 - 1, true, true}}},
		{"avg leaves an overflowing value out of its count",
			`"aggregate":{"fn":"avg","path":"$.v"}`, window.Limits{},
			[]in{{"c", `{"v":-1e308}`, 1}, {"c", `{"v":-1e308}`, 2}},
			window.Stats{Overflows: 1}, "1 values not added: the sum would overflow float64",
			[]win{{"c", "", 0, 60000, 1, -1e308, true, false}}},
		{"the group limit is reported first, then the overflow",
			`"aggregate":{"fn":"sum","path":"$.v"},"group_by":["$.g"],"limits":{"max_groups":1}`, window.Limits{},
			[]in{{"c", `{"v":1e308}`, 1}, {"c", `{"v":1e308}`, 2}, {"c", `{"g":1,"v":1}`, 3}},
			window.Stats{GroupsDropped: 1, Overflows: 1}, "group limit 1 reached: 1 contributions to new groups not counted; 1 values not added: the sum would overflow float64",
			[]win{{"c", gk(`null`), 0, 60000, 1, 1e308, true, true}}},
		// Without MaxKeyBytes, a megabyte's group_by value made a megabyte's group, and
		// MaxGroups of them 100 GB: the limits counted entries only.
		{"a group key past max_key_bytes is not counted; others go on",
			`"group_by":["$.g"]`, window.Limits{MaxKeyBytes: 8},
			[]in{{"c", `{"g":"abcde"}`, 1}, {"c", `{"g":"abcdefghijk"}`, 2}, {"c", `{"g":"abcde"}`, 3}},
			window.Stats{KeysTooLong: 1}, "key limit 8 bytes reached: 1 events whose group_by values or count_distinct value are longer not counted",
			[]win{{"c", gk(`"abcde"`), 0, 60000, 2, 2, true, false}}},
		{"the customer's name is not the group key's",
			`"group_by":["$.g"]`, window.Limits{MaxKeyBytes: 8},
			[]in{{"a-customer-of-a-long-name", `{"g":"ab"}`, 1}},
			window.Stats{}, "",
			[]win{{"a-customer-of-a-long-name", gk(`"ab"`), 0, 60000, 1, 1, true, false}}},
		{"a count_distinct value past max_key_bytes is not counted",
			`"aggregate":{"fn":"count_distinct","path":"$.v"}`, window.Limits{MaxKeyBytes: 8},
			[]in{{"c", `{"v":"abc"}`, 1}, {"c", `{"v":"abcdefghijkl"}`, 2}, {"c", `{"v":"xyz"}`, 3}},
			window.Stats{KeysTooLong: 1}, "key limit 8 bytes reached: 1 events whose group_by values or count_distinct value are longer not counted",
			[]win{{"c", "", 0, 60000, 2, 2, true, false}}},
		{"exact figures are not degraded",
			`"group_by":["$.g"]`, window.Limits{MaxGroups: 2},
			[]in{{"c", `{"g":"a"}`, 1}, {"c", `{"g":"b"}`, 2}},
			window.Stats{}, "",
			[]win{{"c", gk(`"a"`), 0, 60000, 1, 1, true, false}, {"c", gk(`"b"`), 0, 60000, 1, 1, true, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := `"threshold":1e9`
			if tt.fields != "" {
				fields += "," + tt.fields
			}
			if !strings.Contains(fields, `"window"`) {
				fields += `,"window":{"size":"1m"}`
			}
			st, _ := run(t, mustRule(t, fields), tt.lim, tt.events...)
			if st.Stats() != tt.stats {
				t.Errorf("stats %+v, want %+v", st.Stats(), tt.stats)
			}
			if got := st.Degraded(); got != tt.degraded {
				t.Errorf("Degraded() = %q, want %q", got, tt.degraded)
			}
			if got := openWindows(st, ""); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("windows\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestLimitsBoundMemory floods a state with new groups and distinct values and checks,
// after every event, that it never holds more than its limits allow.
func TestLimitsBoundMemory(t *testing.T) {
	const maxGroups, maxDistinct = 10, 5
	r := mustRule(t, `"aggregate":{"fn":"count_distinct","path":"$.v"},"group_by":["$.g"],"window":{"size":"1m","every":"20s"},"lateness":"10m","threshold":1e9`)
	st := window.New(r, window.Limits{MaxGroups: maxGroups, MaxDistinct: maxDistinct})
	f := newFeeder()
	var events uint64
	for i := range 3000 {
		// Many groups, many values, times within lateness so that nothing closes.
		f.add(t, st, in{"c", fmt.Sprintf(`{"g":%d,"v":%d}`, i%37, i), int64(i%500) * 100})
		events++
		if st.GroupCount() > maxGroups {
			t.Fatalf("event %d: %d groups, limit %d", i, st.GroupCount(), maxGroups)
		}
		// Events span 50 s: at most 5 windows of 20 s steps per group.
		if st.WindowCount() > maxGroups*5 {
			t.Fatalf("event %d: %d windows of %d groups", i, st.WindowCount(), st.GroupCount())
		}
	}
	for _, w := range st.Windows("") {
		if w.Value > maxDistinct {
			t.Errorf("window %+v keeps %v distinct values, limit %d", w, w.Value, maxDistinct)
		}
	}
	s := st.Stats()
	if s.GroupsDropped == 0 || s.DistinctDropped == 0 || st.Degraded() == "" {
		t.Errorf("stats %+v, Degraded %q: want both limits reached", s, st.Degraded())
	}
	if s.GroupsDropped > events {
		t.Errorf("GroupsDropped %d beyond the %d events", s.GroupsDropped, events)
	}
}
