package live

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCounterStoreAgreesWithMap: random adds, lookups and rule drops on the store and on
// a map of maps give the same counts, through table growth, cell reuse and the
// rebuilds of the counter index.
func TestCounterStoreAgreesWithMap(t *testing.T) {
	t.Parallel()
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 1))
		// Customers with a few counters (their list alone) and with hundreds (the
		// index), and customers crossing between the two as counters come and go.
		rules := []int{12, 12, 400, 2000, 3}[seed]
		customers := []int{3000, 300, 50, 20, 3000}[seed]
		s := newCounterStore()
		oracle := map[string]map[uint32]int64{}
		for op := range 20000 {
			name := fmt.Sprintf("cust-%d", rng.IntN(customers))
			rule := uint32(1 + rng.IntN(rules))
			switch k := rng.IntN(100); {
			case k < 80:
				n := 1 + rng.Int64N(5)
				if oracle[name] == nil {
					oracle[name] = map[uint32]int64{}
				}
				oracle[name][rule] += n
				if got := s.add(s.intern(name), rule, n); got != oracle[name][rule] {
					t.Fatalf("seed %d op %d: add %s/%d = %d, want %d", seed, op, name, rule, got, oracle[name][rule])
				}
			case k < 99:
				if got := s.count(name, rule); got != oracle[name][rule] {
					t.Fatalf("seed %d op %d: count %s/%d = %d, want %d", seed, op, name, rule, got, oracle[name][rule])
				}
			default:
				s.drop(func(id uint32) bool { return id == rule })
				for _, m := range oracle {
					delete(m, rule)
				}
			}
		}
		seen, live := 0, 0
		for _, m := range oracle {
			live += len(m)
		}
		s.each(func(ci int, id uint32, n int64) {
			seen++
			if oracle[s.name(ci)][id] != n {
				t.Fatalf("seed %d: each %s/%d = %d, want %d", seed, s.name(ci), id, n, oracle[s.name(ci)][id])
			}
		})
		if seen != live || s.live != live {
			t.Fatalf("seed %d: %d counters walked, %d recorded, want %d", seed, seen, s.live, live)
		}
		big := 0
		for ci := range s.custs.len() {
			if s.custs.at(ci).n > smallCustomer {
				big++
			}
		}
		t.Logf("seed %d: %d counters, %d of %d customers indexed", seed, live, big, s.custs.len())
	}
}

// BenchmarkCounterAdd: one add to a counter of 100 customers × rules rules, all of
// them already made, as a busy partition's event loop does for each match.
func BenchmarkCounterAdd(b *testing.B) {
	for _, rules := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("rules=%d", rules), func(b *testing.B) {
			s := newCounterStore()
			const customers = 100
			for c := range customers {
				ci := s.intern(fmt.Sprintf("c-%03d", c))
				for r := range rules {
					s.add(ci, uint32(r+1), 1)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			keys := make([][2]int, 4096)
			for i := range keys {
				keys[i] = [2]int{rng.IntN(customers), 1 + rng.IntN(rules)}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				k := keys[i%len(keys)]
				s.add(k[0], uint32(k[1]), 1)
			}
		})
	}
}
