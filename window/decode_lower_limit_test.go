package window_test

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestDecodeUnderLowerLimitsIsBoundedOrDegraded restores states taken under larger
// limits into a daemon restarted with lower ones (--max-groups 5, --max-distinct 5):
// the state keeps what it holds and says so in Degraded, as the docs say of a limit
// reached. Decode kept all 10 groups / values and said nothing: over its limit,
// silently (a grouped rule without a window never closes its groups, so for the life
// of the rule version).
func TestDecodeUnderLowerLimitsIsBoundedOrDegraded(t *testing.T) {
	t.Run("max_groups", func(t *testing.T) {
		r := mustRule(t, `"group_by":["$.g"],"threshold":1000`)
		var evs []in
		for i := range 10 {
			evs = append(evs, in{"c", fmt.Sprintf(`{"g":%d}`, i), int64(i + 1)})
		}
		s, _ := run(t, r, window.Limits{MaxGroups: 100}, evs...)
		if s.GroupCount() != 10 || s.Degraded() != "" {
			t.Fatalf("before: %d groups, degraded %q", s.GroupCount(), s.Degraded())
		}
		lower := window.Limits{MaxGroups: 5}
		d, rest, err := window.Decode(r, lower, s.AppendTo(nil))
		if err != nil || len(rest) != 0 {
			t.Fatalf("Decode: %v (%d bytes left)", err, len(rest))
		}
		if int64(d.GroupCount()) > lower.MaxGroups && d.Degraded() == "" {
			t.Errorf("restored under max_groups %d: the state holds %d open groups and Degraded() is empty: over its limit, silently",
				lower.MaxGroups, d.GroupCount())
		}
	})
	t.Run("max_distinct", func(t *testing.T) {
		r := mustRule(t, `"aggregate":{"fn":"count_distinct","path":"$.v"},"window":{"size":"1h"},"threshold":1000`)
		var evs []in
		for i := range 10 {
			evs = append(evs, in{"c", fmt.Sprintf(`{"v":%d}`, i), int64(i + 1)})
		}
		s, _ := run(t, r, window.Limits{MaxDistinct: 100}, evs...)
		lower := window.Limits{MaxDistinct: 5}
		d, rest, err := window.Decode(r, lower, s.AppendTo(nil))
		if err != nil || len(rest) != 0 {
			t.Fatalf("Decode: %v (%d bytes left)", err, len(rest))
		}
		ws := d.Windows("c")
		if len(ws) != 1 {
			t.Fatalf("restored windows: %+v", ws)
		}
		if ws[0].Value > float64(lower.MaxDistinct) && d.Degraded() == "" {
			t.Errorf("restored under max_distinct %d: a window keeps %v distinct values and Degraded() is empty: over its limit, silently",
				lower.MaxDistinct, ws[0].Value)
		}
	})
}
