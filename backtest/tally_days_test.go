package backtest

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestTallyKeepsTheLatestDays: record times are any a producer stamps, and the tally
// counted firings in a map with a key for every UTC day with a firing: years 0001 to
// 9999 hold 3.65 million, all in the report's per_day (and the console's chart of it).
// Under --max-days 100, 20,000 firings on as many days, oldest last for a start: the
// tally holds at most twice the bound, per_day lists the latest 100 days and
// per_day_cut counts the 19,900 firings of earlier days, while the firings and the
// first and last stay exact.
func TestTallyKeepsTheLatestDays(t *testing.T) {
	t.Parallel()
	r, err := rule.ParseRule([]byte(`{"id":"every-event","scope":"*","when":{"path":"$.id","op":"exists"},
		"window":{"size":"1m"},"threshold":1,"alert":{"suppress":"0s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := rule.NewSet([]*rule.Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	rp := window.NewReplay(set, window.Limits{})
	tl := newTally([]*rule.Rule{r}, window.Limits{}, 100)
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(`{"id":1}`)); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC)
	// One crossing, counted as if raised on each day: the tally keeps no more of it
	// than its rule, customer and group.
	found := rp.Add(0, "c-1", doc, base, nil)
	if len(found) != 1 {
		t.Fatalf("the replay found %d crossings; want 1", len(found))
	}
	const n = 20000
	held := 0
	for i := range n {
		// The first firing is the last day's; then day 0 on, in order.
		day := i - 1
		if i == 0 {
			day = n - 1
		}
		if err := tl.fired(found[0], base.AddDate(0, 0, day)); err != nil {
			t.Fatal(err)
		}
		held = max(held, tl.of[r].days.Len())
	}
	out := tl.report()[0]
	if out.Firings != n || !out.FirstFiring.Equal(base) || !out.LastFiring.Equal(base.AddDate(0, 0, n-1)) {
		t.Errorf("the tally counts %d firings from %v to %v; want %d from %v to %v", out.Firings, out.FirstFiring, out.LastFiring, n, base, base.AddDate(0, 0, n-1))
	}
	if held > 200 {
		t.Errorf("the tally held %d days at once under a bound of 100 days; want at most 200", held)
	}
	listed := 0
	for _, c := range out.PerDay {
		listed += c.Firings
	}
	first := base.AddDate(0, 0, n-100).Format(time.DateOnly)
	if len(out.PerDay) != 100 || out.PerDay[0] != (contract.BacktestCount{Key: first, Firings: 1}) || out.PerDayCut != n-100 || listed+out.PerDayCut != n {
		t.Errorf("per_day lists %d days (firings %d) from %v, per_day_cut %d; want 100 days from %s, per_day_cut %d", len(out.PerDay), listed, out.PerDay[:min(1, len(out.PerDay))], out.PerDayCut, first, n-100)
	}
}
