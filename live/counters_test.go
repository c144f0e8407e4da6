package live

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCounterStoreAgreesWithMap: random adds, lookups and rule drops on the store and on
// a map of maps give the same counts, through table growth and cell reuse.
func TestCounterStoreAgreesWithMap(t *testing.T) {
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 1))
		s := newCounterStore()
		oracle := map[string]map[uint32]int64{}
		for op := range 20000 {
			name := fmt.Sprintf("cust-%d", rng.IntN(3000))
			rule := uint32(1 + rng.IntN(12))
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
	}
}
