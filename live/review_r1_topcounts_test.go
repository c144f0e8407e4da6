package live_test

import (
	"runtime"
	"testing"
)

// TestReviewTopCountsOfAWindowedRuleKeepsN: CountsPage no longer builds a map of every
// customer of a windowed rule (windowCounts) per partition; TopCounts, which "walks every
// counter but holds only n", still does: a top 1 costs memory by the rule's customers.
func TestReviewTopCountsOfAWindowedRuleKeepsN(t *testing.T) {
	const customers = 30_000
	d, _ := windowedCustomers(t, customers)
	var before, after runtime.MemStats
	const calls = 3
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range calls {
		if top := d.TopCounts(1); len(top) != 1 {
			t.Fatalf("top %+v", top)
		}
	}
	runtime.ReadMemStats(&after)
	perCall := (after.TotalAlloc - before.TotalAlloc) / calls
	if perCall > 256<<10 {
		t.Errorf("a top 1 of a windowed rule's counts allocated %d bytes per call with %d customers: it holds every customer, not n", perCall, customers)
	}
}
