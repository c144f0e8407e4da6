package live

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
)

// TestHistoryDaysSummedMatchTheOracle: a rule view sums the partitions' histories, each
// of which kept its own latest --max-history-days days, and trims the sum again as each
// partition is added. Seeded: partitions' firings on overlapping and disjoint days (one
// partition far back, others sharing the days at the bound), added in a shuffled
// order; the view must list the latest Max days of all the firings counted at once,
// the rest in per_day_cut, first and last exact, and say the same once through JSON.
func TestHistoryDaysSummedMatchTheOracle(t *testing.T) {
	t.Parallel()
	base := time.Date(2020, 3, 1, 12, 0, 0, 0, time.UTC)
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 91))
		maxDays := rng.IntN(10) // 0: no bound
		ar := &controls.Version{}
		all := map[string]int{}
		total := 0
		var first, last time.Time
		parts := make([]*partition, 1+rng.IntN(4))
		for id := range parts {
			h := &partHistory{days: contract.DayCounts{Max: maxDays}}
			shift := rng.IntN(3) * rng.IntN(40) // some partitions far behind the others
			for range rng.IntN(120) {
				at := base.AddDate(0, 0, rng.IntN(25)-shift).Add(time.Duration(rng.IntN(86400)) * time.Second)
				h.fired(at)
				all[at.UTC().Format(time.DateOnly)]++
				total++
				if first.IsZero() || at.Before(first) {
					first = at
				}
				if at.After(last) {
					last = at
				}
			}
			h.days.Cut() // as runWindowJob does once its history is read
			parts[id] = &partition{id: int32(id), history: map[*controls.Version]*partHistory{ar: h}}
		}
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		var v contract.RuleView
		for _, p := range parts {
			p.addHistory(ar, &v)
		}
		keys := slices.Sorted(maps.Keys(all))
		from := 0
		if maxDays > 0 && len(keys) > maxDays {
			from = len(keys) - maxDays
		}
		wantCut := 0
		for _, d := range keys[:from] {
			wantCut += all[d]
		}
		var want []contract.BacktestCount
		for _, d := range keys[from:] {
			want = append(want, contract.BacktestCount{Key: d, Firings: all[d]})
		}
		b, err := json.Marshal(v.History)
		if err != nil {
			t.Fatal(err)
		}
		var rh contract.RuleHistory
		if err := json.Unmarshal(b, &rh); err != nil {
			t.Fatalf("seed %d: reading the history back: %v", seed, err)
		}
		for _, h := range []*contract.RuleHistory{v.History, &rh} {
			if !slices.Equal(h.PerDay, want) || h.PerDayCut != wantCut || h.Firings != total {
				t.Fatalf("seed %d (max %d, %d partitions): per_day %v, per_day_cut %d, firings %d; the oracle %v, cut %d, firings %d",
					seed, maxDays, len(parts), h.PerDay, h.PerDayCut, h.Firings, want, wantCut, total)
			}
			if total > 0 && (!h.FirstFiring.Equal(first) || !h.LastFiring.Equal(last)) {
				t.Fatalf("seed %d: firings from %v to %v; want %v to %v", seed, h.FirstFiring, h.LastFiring, first, last)
			}
		}
	}
}
