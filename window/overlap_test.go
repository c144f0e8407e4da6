package window_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestWidestOverlapKeepsCounts: at the most windows per event a limit may allow
// (rule.WindowOverlapCeiling), one event counts once in each of its windows; a wider
// overlap, which spilled a cell's window count into its event count, is refused.
func TestWidestOverlapKeepsCounts(t *testing.T) {
	old := rule.CurrentLimits()
	defer rule.SetLimits(old)
	l := old
	l.MaxWindowOverlap = rule.WindowOverlapCeiling + 1
	if err := rule.SetLimits(l); err == nil {
		t.Fatalf("max_rule_window_overlap %d accepted", l.MaxWindowOverlap)
	}
	l.MaxWindowOverlap = rule.WindowOverlapCeiling
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	r := mustRule(t, `"window":{"size":"65536ms","every":"1ms"},"threshold":2`)
	st, got := run(t, r, window.Limits{}, in{"c", `{}`, 1_000_000})
	ws := st.Windows("")
	if len(got) != 0 || st.WindowCount() != 65536 || len(ws) != 65536 || ws[0].Count != 1 || ws[len(ws)-1].Count != 1 {
		t.Errorf("one event: %d crossings of count >= 2, %d windows open, %d listed; want none, 65536, 65536 counting 1", len(got), st.WindowCount(), len(ws))
	}
}
