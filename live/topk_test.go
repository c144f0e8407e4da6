package live

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// topCountsFixture is a daemon over the state fixture's rules with random counters in
// four partitions, many of them tied.
func topCountsFixture(t testing.TB, customers int, seed uint64) *stateFixture {
	f := newStateFixture(t, 7)
	f.d.parts = map[int32]*partition{}
	rng := rand.New(rand.NewPCG(seed, 1))
	for pid := range int32(4) {
		p := newPartition(pid)
		for c := int(pid); c < customers; c += 4 {
			ci := p.counts.intern(fmt.Sprintf("c-%06d", c))
			for _, ar := range f.rules {
				if rng.IntN(3) == 0 {
					p.counts.add(ci, ar.Seq, 1+rng.Int64N(20))
				}
			}
		}
		f.d.parts[pid] = p
	}
	return f
}

// TestTopCountsAreTheLargest: the bounded lists equal a sort of every counter.
func TestTopCountsAreTheLargest(t *testing.T) {
	t.Parallel()
	for seed := range uint64(5) {
		f := topCountsFixture(t, 400, seed)
		var all []contract.CountView
		per := map[string][]contract.CustomerCount{}
		totals := map[string]int64{}
		f.d.eachPartition(func(p *partition) {
			p.counts.each(func(ci int, id uint32, n int64) {
				ar := f.rules[id-1]
				all = append(all, contract.CountView{RuleID: ar.Key.ID, Scope: ar.Key.Scope, Version: ar.Rule.Version, Customer: p.counts.name(ci), Count: n, Status: contract.RuleLive})
				per[ar.Key.String()] = append(per[ar.Key.String()], contract.CustomerCount{Customer: p.counts.name(ci), Count: n, PartitionMax: n})
				totals[ar.Key.String()] += n
			})
		})
		slices.SortFunc(all, func(a, b contract.CountView) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.RuleID, b.RuleID), cmp.Compare(a.Customer, b.Customer))
		})
		for _, n := range []int{0, 1, 10, 100, len(all) + 5} {
			if got, want := f.d.TopCounts(n), all[:min(n, len(all))]; !slices.EqualFunc(got, want, func(a, b contract.CountView) bool { return reflect.DeepEqual(a, b) }) {
				t.Fatalf("seed %d: TopCounts(%d) = %v\nwant %v", seed, n, got, want)
			}
			sums := consoleBackend{f.d}.Counts(n)
			for key, cs := range per {
				slices.SortFunc(cs, func(a, b contract.CustomerCount) int {
					return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Customer, b.Customer))
				})
				got := sums[controlsKey(f.rules, key)]
				if got.Customers != len(cs) || got.Total != totals[key] || !slices.Equal(got.Top, cs[:min(n, len(cs))]) {
					t.Fatalf("seed %d, top %d, rule %s: %+v, want %d customers, total %d, top %v", seed, n, key, got, len(cs), totals[key], cs[:min(n, len(cs))])
				}
			}
		}
	}
}

func controlsKey(rules []*controls.Version, key string) rule.Key {
	for _, ar := range rules {
		if ar.Key.String() == key {
			return ar.Key
		}
	}
	panic("no rule " + key)
}

// TestTopCountsMemoryIsBounded: a top ten over 200,000 counters allocates for the ten,
// not for every counter (before: a view and a name string per counter).
func TestTopCountsMemoryIsBounded(t *testing.T) {
	// Not parallel: testing.AllocsPerRun counts the whole process's allocations.
	f := topCountsFixture(t, 100_000, 9)
	for name, fn := range map[string]func(){
		"TopCounts":      func() { f.d.TopCounts(10) },
		"console.Counts": func() { consoleBackend{f.d}.Counts(10) },
	} {
		if allocs := testing.AllocsPerRun(2, fn); allocs > 2000 {
			t.Errorf("%s(10) over %d customers: %.0f allocations, want a bound independent of the counters (≤ 2000)", name, 100_000, allocs)
		}
	}
}
