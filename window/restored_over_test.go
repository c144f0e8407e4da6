package window_test

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestRestoredOverClearsOnceWithinLimits: a state restored under a lower --max-groups
// than its snapshot was taken under says so in Degraded while it holds more groups
// than the limit ("new groups are not kept until enough close"). Once those groups'
// windows have closed and the state is back within its limit, keeping new groups and
// having dropped nothing, its figures are exact and Degraded must be "" — as it is for
// the very same state after an encode/decode round trip (a first version kept the
// restore message for the life of the rule version, its status "degraded" for ever).
func TestRestoredOverClearsOnceWithinLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields string
		doc    func(i int) string
		lim    window.Limits
		lower  window.Limits
	}{
		{"max_groups", `"group_by":["$.g"],"window":{"size":"1s"},"threshold":1000`,
			func(i int) string { return fmt.Sprintf(`{"g":%d}`, i) },
			window.Limits{MaxGroups: 100}, window.Limits{MaxGroups: 5}},
		{"max_distinct", `"aggregate":{"fn":"count_distinct","path":"$.v"},"window":{"size":"1s"},"threshold":1000`,
			func(i int) string { return fmt.Sprintf(`{"v":%d}`, i) },
			window.Limits{MaxDistinct: 100}, window.Limits{MaxDistinct: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRule(t, tc.fields)
			var evs []in
			for i := range 10 {
				evs = append(evs, in{"c", tc.doc(i), int64(i + 1)})
			}
			s, _ := run(t, r, tc.lim, evs...)
			d, _, err := window.Decode(r, tc.lower, s.AppendTo(nil))
			if err != nil {
				t.Fatal(err)
			}
			if d.Degraded() == "" {
				t.Fatalf("restored over the limit, Degraded is empty")
			}
			// Much later: every restored window closes; one new event opens a window.
			f := newFeeder()
			f.add(t, d, in{"c", tc.doc(0), 60_000})
			st := d.Stats()
			if d.GroupCount() != 1 || st.GroupsDropped != 0 || st.DistinctDropped != 0 {
				t.Fatalf("after the restored windows closed: %d groups, stats %+v", d.GroupCount(), st)
			}
			// The same state, snapshotted and restored again under the same limits.
			again, _, err := window.Decode(r, tc.lower, d.AppendTo(nil))
			if err != nil {
				t.Fatal(err)
			}
			if again.Degraded() != "" {
				t.Fatalf("round trip: %q", again.Degraded())
			}
			if why := d.Degraded(); why != "" {
				t.Errorf("back within its limits (%d open group, %d windows, nothing dropped), the state still says Degraded %q; the same state restored again says \"\"",
					d.GroupCount(), d.WindowCount(), why)
			}
		})
	}
}
