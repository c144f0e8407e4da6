package contract

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// dayOracle counts every firing by day and keeps the latest max of them afterwards,
// what DayCounts must answer however its trims fell while it counted.
func dayOracle(days []string, ns []int, max int) (perDay []BacktestCount, cut int) {
	all := map[string]int{}
	for i, d := range days {
		all[d] += ns[i]
	}
	keys := slices.Sorted(maps.Keys(all))
	from := 0
	if max > 0 && len(keys) > max {
		from = len(keys) - max
	}
	for _, d := range keys[:from] {
		cut += all[d]
	}
	perDay = []BacktestCount{}
	for _, d := range keys[from:] {
		perDay = append(perDay, BacktestCount{Key: d, Firings: all[d]})
	}
	return perDay, cut
}

// TestDayCountsMatchTheOracle: DayCounts trims at twice its bound and cuts a day at or
// before the latest trimmed one as it comes, so what it lists depends on when the
// trims fell; seeded streams of firings (days repeated, out of order, some far back,
// some on the day last trimmed, Cut and Len read midway as live and backtest do) must
// list exactly the latest Max days of counting them all at once, the rest in the cut,
// the two summing to every firing.
func TestDayCountsMatchTheOracle(t *testing.T) {
	t.Parallel()
	base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 17))
		max := rng.IntN(12) - 1 // -1 and 0: no bound
		spread := 1 + rng.IntN(60)
		n := rng.IntN(400)
		c := DayCounts{Max: max}
		var days []string
		var ns []int
		total := 0
		for i := range n {
			var day string
			switch k := rng.IntN(10); {
			case k == 0 && c.below != "":
				day = c.below // exactly at the bound
			case k == 1:
				day = time.Date(1+rng.IntN(9999), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(365)).Format(time.DateOnly)
			default:
				day = base.AddDate(0, 0, rng.IntN(spread)+i/8).Format(time.DateOnly)
			}
			m := 1 + rng.IntN(3)
			c.Add(day, m)
			days, ns, total = append(days, day), append(ns, m), total+m
			if max > 0 && c.Len() > 2*max {
				t.Fatalf("seed %d: held %d days under a bound of %d", seed, c.Len(), max)
			}
			if rng.IntN(50) == 0 {
				c.Cut()
			}
		}
		wantDays, wantCut := dayOracle(days, ns, max)
		gotDays, gotCut := c.List()
		listed := 0
		for _, d := range gotDays {
			listed += d.Firings
		}
		if !slices.Equal(gotDays, wantDays) || gotCut != wantCut || listed+gotCut != total {
			t.Fatalf("seed %d (max %d, %d firings): listed %v cut %d; the oracle %v cut %d", seed, max, total, gotDays, gotCut, wantDays, wantCut)
		}
		// Read again, the answer is the same (the views read it at every request).
		if again, cut := c.List(); !slices.Equal(again, gotDays) || cut != gotCut {
			t.Fatalf("seed %d: read again, listed %v cut %d; first %v cut %d", seed, again, cut, gotDays, gotCut)
		}
	}
}
