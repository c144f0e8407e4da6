package backtest

import (
	"testing"
	"time"
)

// TestRangeLeavesOutTheEventAtTo: a backtest's range is [From, To): the event recorded
// at To exactly is the next range's, the one at From this one's. No test held the upper
// bound: at.After(To) in place of !at.Before(To) passed every test (mutation hunt), and
// an event on the bound would have been counted in two adjacent ranges.
func TestRangeLeavesOutTheEventAtTo(t *testing.T) {
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(time.Hour)
	r := &runner{cfg: Config{From: from, To: to}}
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{from.Add(-time.Millisecond), false},
		{from, true},
		{to.Add(-time.Millisecond), true},
		{to, false},
		{to.Add(time.Millisecond), false},
	} {
		if got := r.inRange("c-1", c.at); got != c.want {
			t.Errorf("event recorded %s, range [%s, %s): in range %v, want %v", c.at.Format(time.RFC3339Nano), from.Format(time.RFC3339), to.Format(time.RFC3339), got, c.want)
		}
	}
}

// TestRangeLeavesOutOtherCustomers: a backtest of one customer (Config.Customer)
// evaluates that customer's events alone, whichever other customers share its lake
// files' partition or Kafka's. No test held it: inRange without its customer case
// passed every test (mutation hunt), TestBacktestMatchesOracle's one-customer case
// included; an event of another customer would have counted in its report.
func TestRangeLeavesOutOtherCustomers(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	one := &runner{cfg: Config{Customer: "c-1"}}
	all := &runner{}
	for _, c := range []struct {
		r        *runner
		customer string
		want     bool
	}{
		{one, "c-1", true},
		{one, "c-2", false},
		{one, "c-10", false},
		{one, "", false},
		{all, "c-2", true},
	} {
		if got := c.r.inRange(c.customer, at); got != c.want {
			t.Errorf("backtest of customer %q, event of customer %q: in range %v, want %v", c.r.cfg.Customer, c.customer, got, c.want)
		}
	}
}
