package live

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestProbeTableGrowsWithoutLosing: entries inserted one by one through several
// growths are all found at every step — in the new table or in the old one still being
// moved — and each move ends before the next growth starts, so no insertion ever
// moves more than growSteps slots.
func TestProbeTableGrowsWithoutLosing(t *testing.T) {
	t.Parallel()
	hash := func(e uint64) uint32 { return uint32((e * 0x9E3779B97F4A7C15) >> 40) }
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var tb probeTable[uint64]
		var in []uint64
		seen := map[uint64]bool{}
		growths := 0
		for len(in) < 100_000 {
			e := rng.Uint64() | 1
			if seen[e] {
				continue
			}
			seen[e] = true
			before := len(tb.cur)
			hadOld := tb.old != nil
			tb.insert(hash(e), e, hash)
			if len(tb.cur) != before {
				growths++
				if hadOld {
					t.Fatalf("seed %d: a growth at %d entries started with the previous move unfinished", seed, len(in))
				}
			}
			in = append(in, e)
			for _, x := range []uint64{e, in[rng.IntN(len(in))]} {
				if got, ok := tb.find(hash(x), func(y uint64) bool { return y == x }); !ok || got != x {
					t.Fatalf("seed %d: after %d insertions %x is not found", seed, len(in), x)
				}
			}
		}
		if growths < 10 {
			t.Fatalf("seed %d: %d growths, the test wants many", seed, growths)
		}
		// Once the move is done, cur alone holds every entry exactly once.
		for i := 0; tb.old != nil; i++ {
			tb.move(growSteps, hash)
		}
		var got []uint64
		for _, e := range tb.cur {
			if e != 0 {
				got = append(got, e)
			}
		}
		slices.Sort(got)
		slices.Sort(in)
		if !slices.Equal(got, in) || tb.n != len(in) {
			t.Fatalf("seed %d: the table holds %d entries (counted %d), want the %d inserted", seed, len(got), tb.n, len(in))
		}
	}
}

// BenchmarkCounterGrowth grows a partition's counter store as the latency benchmark
// does (a new customer per event, matching 12 rules: every customer's counters go
// into the index) to 200,000 customers. It reports the longest event (a customer and
// its 12 counters, worst-event-µs) against what rebuilding both tables whole at that
// size takes, the stall each doubling used to cost (rebuild-µs), their ratio
// (worst-vs-rebuild), and the whole growth's time (grow-ms): moving entries one by one
// costs more in all than rebuilding in a cache-friendly order (fillTable), the price
// of never stalling.
func BenchmarkCounterGrowth(b *testing.B) {
	const customers, rules = 200_000, 12
	names := make([]string, customers)
	for i := range names {
		names[i] = fmt.Sprintf("probe-%d", i)
	}
	var worst, rebuild, grow time.Duration
	for b.Loop() {
		s := newCounterStore()
		began := time.Now()
		for _, name := range names {
			event := time.Now()
			ci := s.intern(name)
			for r := range rules {
				s.add(ci, uint32(r+1), 1)
			}
			worst = max(worst, time.Since(event))
		}
		grow += time.Since(began)
		began = time.Now()
		s.slots.fill(tableSize(s.custs.len())*2, 0, nil)
		s.reindex()
		s.reindexCells(2)
		rebuild += time.Since(began)
		for _, name := range names[:1000] {
			if s.count(name, rules) != 1 {
				b.Fatalf("%s: count %d, want 1", name, s.count(name, rules))
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(worst.Microseconds()), "worst-event-µs")
	b.ReportMetric(float64(rebuild.Microseconds())/n, "rebuild-µs")
	b.ReportMetric(float64(worst)/(float64(rebuild)/n), "worst-vs-rebuild")
	b.ReportMetric(float64(grow.Milliseconds())/n, "grow-ms")
}
