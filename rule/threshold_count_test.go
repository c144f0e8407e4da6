package rule_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// TestThresholdCountIsTheCountThatPasses holds Count to its doc, "the count at which
// it alerts": the least whole count n with n >= Value, so ">= 2.5" alerts at 3, not 2
// (which does not pass Holds). Alert ids and replays of plain counts are keyed by it.
func TestThresholdCountIsTheCountThatPasses(t *testing.T) {
	for _, v := range []float64{1, 2.5, 3, 0.2, 1e15 + 0.5} {
		th := rule.AtLeast(v)
		n := th.Count()
		if !th.Holds(float64(n)) || th.Holds(float64(n-1)) {
			t.Errorf("AtLeast(%v).Count() = %d: Holds(%d) = %v, Holds(%d) = %v; want the least count that passes",
				v, n, n, th.Holds(float64(n)), n-1, th.Holds(float64(n-1)))
		}
	}
}
