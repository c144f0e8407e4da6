package window_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestReplayDegradedNamesBothBoundsReached: once the replay's plain counts were
// refused new counters by --max-counters and by --max-customer-ids-bytes, each
// degraded rule names both bounds (the bounds the replay reached, as Degraded says),
// whichever refused its own matches.
// The replay's two rules share the counters (3) and the one page of ids: customer X
// takes a counter each (2) and 40,000 bytes; Y's 40,000 bytes do not fit the page, so
// both refuse it by ids; Z's 10 bytes fit, a's counter is the third, and b finds the
// counters full.
func TestReplayDegradedNamesBothBoundsReached(t *testing.T) {
	set, rules := everyEventCounts(t, "a", "b")
	rp := window.NewReplay(set, window.Limits{MaxCounters: 3, MaxCustomerIDBytes: window.IDPage})
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	for i, customer := range []string{"X" + strings.Repeat("x", 39_999), "Y" + strings.Repeat("y", 39_999), "Z" + strings.Repeat("z", 9)} {
		rp.Add(int64(i), customer, doc, time.UnixMilli(int64(i)), nil)
	}
	for _, tt := range []struct {
		rule *rule.Rule
		want string
	}{
		{rules[0], "counter store full (at --max-counters 3 counters, or --max-customer-ids-bytes 65536 bytes of customer ids): 1 matches that needed a new counter were not counted"},
		{rules[1], "counter store full (at --max-counters 3 counters, or --max-customer-ids-bytes 65536 bytes of customer ids): 2 matches that needed a new counter were not counted"},
	} {
		if got := rp.Degraded(tt.rule); got != tt.want {
			t.Errorf("rule %s degraded %q, want %q", tt.rule.ID, got, tt.want)
		}
	}
	if a, b := rp.Counted(rules[0]), rp.Counted(rules[1]); a != 2 || b != 1 {
		t.Errorf("counted a %d, b %d; want 2 (X, Z) and 1 (X)", a, b)
	}
}
