package backtest

import (
	"testing"
	"time"
)

// TestSinceLeavesOutOnlyHistoryBelowSinceBelow: Config.Since leaves out events recorded
// before it only below SinceBelow; the event at SinceBelow, counted live, counts
// whenever it was recorded (a producer's clock may stamp it before Since). No test held
// the boundary: offset <= SinceBelow passed every test (mutation hunt).
func TestSinceLeavesOutOnlyHistoryBelowSinceBelow(t *testing.T) {
	since := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r := &runner{cfg: Config{Since: since, SinceBelow: 100}}
	for _, c := range []struct {
		offset int64
		at     time.Time
		want   bool
	}{
		{99, since.Add(-time.Millisecond), true},
		{99, since, false},
		{100, since.Add(-time.Hour), false},
		{101, since.Add(-time.Hour), false},
	} {
		if got := r.before(c.offset, c.at); got != c.want {
			t.Errorf("offset %d recorded %s, SinceBelow 100, Since %s: left out %v, want %v", c.offset, c.at.Format(time.RFC3339Nano), since.Format(time.RFC3339), got, c.want)
		}
	}
	if (&runner{cfg: Config{SinceBelow: 100}}).before(1, since) {
		t.Errorf("without Since an event was left out")
	}
}
