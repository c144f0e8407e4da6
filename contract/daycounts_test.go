package contract

import "testing"

// Once trimmed, a day at or before the latest day trimmed is counted as cut at once,
// not held: the map holds only days that can still be listed, so a producer stamping
// old times cannot fill it back up between trims.
func TestDayCountsCutsDaysAtOrBeforeTheTrimmedOnes(t *testing.T) {
	c := DayCounts{Max: 2}
	for _, d := range []string{"2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "2020-01-05"} {
		c.Add(d, 1)
	}
	// Five days past twice the bound: trimmed to the latest two, "2020-01-03" the
	// latest day trimmed.
	if c.Len() != 2 {
		t.Fatalf("held %d days after the trim; want 2", c.Len())
	}
	c.Add("2020-01-03", 10) // the latest day trimmed
	c.Add("2020-01-02", 100)
	if c.Len() != 2 {
		t.Errorf("held %d days after adding days at or before the latest trimmed; want 2", c.Len())
	}
	perDay, cut := c.List()
	want := []BacktestCount{{Key: "2020-01-04", Firings: 1}, {Key: "2020-01-05", Firings: 1}}
	if len(perDay) != 2 || perDay[0] != want[0] || perDay[1] != want[1] || cut != 113 {
		t.Errorf("List() = %v, cut %d; want %v, cut 113", perDay, cut, want)
	}
}
