package live

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
)

// TestHistoryKeepsTheLatestDays: a hand-off's history counted its firings in a map
// with a key for every UTC day with one, kept for as long as the version is active and
// listed whole in the rule view (history.per_day): record times are any a producer
// stamps, years 0001 to 9999 hold 3.65 million days. Under --max-history-days 100,
// two partitions' firings on 5,000 days each, interleaved (partition 0 the even days,
// 1 the odd ones, each also on the first day): each partition holds at most twice the
// bound, the view lists the latest 100 days of the two summed, and per_day_cut the
// firings of earlier days, so that the days and the cut sum to the firings.
func TestHistoryKeepsTheLatestDays(t *testing.T) {
	t.Parallel()
	ar := &controls.Version{}
	base := time.Date(2000, 1, 1, 6, 0, 0, 0, time.UTC)
	const n, maxDays = 10000, 100
	var parts [2]*partition
	for id := range parts {
		h := &partHistory{days: contract.DayCounts{Max: maxDays}}
		held := 0
		h.fired(base)
		for day := id; day < n; day += 2 {
			h.fired(base.AddDate(0, 0, day))
			held = max(held, h.days.Len())
		}
		if held > 2*maxDays {
			t.Errorf("partition %d held %d days at once under a bound of %d; want at most %d", id, held, maxDays, 2*maxDays)
		}
		h.days.Cut()
		parts[id] = &partition{id: int32(id), history: map[*controls.Version]*partHistory{ar: h}}
	}
	var v contract.RuleView
	for _, p := range parts {
		p.addHistory(ar, &v)
	}
	rh := v.History
	listed := 0
	for i, c := range rh.PerDay {
		listed += c.Firings
		if want := base.AddDate(0, 0, n-maxDays+i).Format(time.DateOnly); c != (contract.BacktestCount{Key: want, Firings: 1}) {
			t.Fatalf("per_day[%d] is %+v; want %s with 1 firing", i, c, want)
		}
	}
	if len(rh.PerDay) != maxDays || rh.Firings != n+2 || listed+rh.PerDayCut != rh.Firings || !rh.FirstFiring.Equal(base) || !rh.LastFiring.Equal(base.AddDate(0, 0, n-1)) {
		t.Errorf("history: %d days listed (%d firings), per_day_cut %d, %d firings from %v to %v; want %d days, %d firings in all from %v to %v",
			len(rh.PerDay), listed, rh.PerDayCut, rh.Firings, rh.FirstFiring, rh.LastFiring, maxDays, n+2, base, base.AddDate(0, 0, n-1))
	}
}
