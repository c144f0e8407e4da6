package live

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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
				if empty := s.custs.len() - s.customers(); empty > 0 && empty*2 >= s.custs.len() {
					t.Fatalf("seed %d op %d: after a drop %d of %d customers have no counter", seed, op, empty, s.custs.len())
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

// TestDroppedRulesForgetTheirCustomers: 40,000 customers, each counted by a rule of its
// own (customers' own rules) and a tenth of them by a global rule too. Deleting the
// customers' rules left every customer in the store, counters or not, until a restart:
// its memory grew with every customer a deleted rule had counted. Once they are half
// the store, the customers with no counter are forgotten, and the others keep their
// counts, in their order, through later adds.
func TestDroppedRulesForgetTheirCustomers(t *testing.T) {
	t.Parallel()
	const customers, global = 40000, uint32(1 << 20)
	s := newCounterStore()
	for i := range customers {
		ci := s.intern(fmt.Sprintf("cust-%d", i))
		s.add(ci, uint32(i+1), int64(i+1))
		if i%10 == 0 {
			s.add(ci, global, 1)
			s.add(ci, global+1, 2)
		}
	}
	before := s.footprint()
	order := func() []string {
		var out []string
		s.each(func(ci int, rule uint32, n int64) { out = append(out, fmt.Sprintf("%s/%d=%d", s.name(ci), rule, n)) })
		return out
	}
	// A partition's view of the counters, frozen as a snapshot's encoding holds it
	// while the rules are deleted.
	view := s.freeze()
	viewCustomers := view.custs.len()
	// The customers' own rules go, a quarter at a time (several deletions in a row).
	for q := range 4 {
		s.drop(func(rule uint32) bool { return rule < global && int(rule-1)%4 == q })
	}
	if got, want := s.custs.len(), customers/10; got > want {
		t.Errorf("after every customer's own rule was deleted, the store holds %d customers; want at most %d (those the global rules count)", got, want)
	}
	if after := s.footprint(); after >= before/2 {
		t.Errorf("footprint %d bytes after the deletions, %d before; want under half", after, before)
	}
	var want []string
	for i := 0; i < customers; i += 10 {
		want = append(want, fmt.Sprintf("cust-%d/%d=1", i, global), fmt.Sprintf("cust-%d/%d=2", i, global+1))
	}
	for i := range want { // each lists a customer's newest counter first
		if i%2 == 0 {
			want[i], want[i+1] = want[i+1], want[i]
		}
	}
	if got := order(); !slices.Equal(got, want) {
		t.Fatalf("counters after the deletions: %d, first %q; want %d, first %q", len(got), got[:min(4, len(got))], len(want), want[:4])
	}
	// The frozen view still reads what it froze.
	if view.custs.len() != viewCustomers || view.custs.len() != customers {
		t.Errorf("the frozen view holds %d customers, want %d", view.custs.len(), customers)
	}
	for _, ci := range []int{0, 7, customers - 1} {
		c := view.custs.at(ci)
		if name := string(view.names.at(c.off, c.len)); name != fmt.Sprintf("cust-%d", ci) {
			t.Errorf("frozen view customer %d is %q", ci, name)
		}
		if cell := view.cells.at(int(c.head)); cell.n != 2 && cell.n != int64(ci+1) {
			t.Errorf("frozen view customer %d's first counter is %d", ci, cell.n)
		}
	}
	s.thaw()
	// Adds after the rebuild find the customers kept and make new ones.
	if n := s.add(s.intern("cust-10"), global, 5); n != 6 {
		t.Errorf("cust-10's global count after adding 5 is %d, want 6", n)
	}
	if n := s.add(s.intern("cust-11"), global, 5); n != 5 {
		t.Errorf("cust-11's global count (a customer forgotten, counted anew) is %d, want 5", n)
	}
	if got := s.count("cust-20", global+1); got != 2 {
		t.Errorf("cust-20's count for the second global rule is %d, want 2", got)
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

// TestCounterStoreRefusesPastMax: at max counters a new counter, or a new customer
// (interned only to get one), is refused with noRoom, and nothing is stored; counters
// that exist go on counting; a drop makes room again; a restore's or compaction's
// adds (deferIndex) bring back whatever the store they come from held. A name past
// the 4 GiB the arena's offsets address is refused as well, not a panic.
func TestCounterStoreRefusesPastMax(t *testing.T) {
	t.Parallel()
	s := newCounterStore()
	s.max = 3
	a, b := s.intern("a"), s.intern("b")
	steps := []struct {
		what string
		do   func() int64
		want int64
	}{
		{"a/1", func() int64 { return s.add(a, 1, 1) }, 1},
		{"a/2", func() int64 { return s.add(a, 2, 1) }, 1},
		{"b/1", func() int64 { return s.add(b, 1, 5) }, 5},
		{"a/1 again", func() int64 { return s.add(a, 1, 1) }, 2},
		{"a/3, new", func() int64 { return s.add(a, 3, 1) }, noRoom},
		{"customer c", func() int64 { return int64(s.intern("c")) }, noRoom},
		{"customer b, known", func() int64 { return int64(s.intern("b")) }, int64(b)},
		{"drop rule 2", func() int64 { s.drop(func(r uint32) bool { return r == 2 }); return int64(s.live) }, 2},
		{"c/1 after the drop", func() int64 { return s.add(s.intern("c"), 1, 1) }, 1},
		{"c/2, full again", func() int64 { return s.add(s.intern("c"), 2, 1) }, noRoom},
	}
	for _, st := range steps {
		if got := st.do(); got != st.want {
			t.Fatalf("%s: %d, want %d", st.what, got, st.want)
		}
	}
	if s.count("a", 3) != 0 || s.custs.len() != 3 || s.live != 3 {
		t.Errorf("after the refusals: a/3 = %d, %d customers, %d counters; want 0, 3 (a, b, c), 3", s.count("a", 3), s.custs.len(), s.live)
	}
	s.compact()
	if s.max != 3 {
		t.Errorf("compact lost the bound: max %d", s.max)
	}
	// A restore is not bounded: what it brings back fitted when it was counted.
	s.deferIndex = true
	for i := range 5 {
		s.add(s.appendNew([]byte(fmt.Sprintf("r-%d", i))), 9, 1)
	}
	s.deferIndex = false
	s.reindex()
	s.reindexCells(1)
	if s.live != 8 || s.count("r-4", 9) != 1 {
		t.Errorf("a restore over the bound kept %d counters (r-4/9 = %d); want 8 and 1", s.live, s.count("r-4", 9))
	}

	// Names: an arena whose pages (unallocated here) reach the top of its offsets.
	n := newCounterStore()
	n.names.pages = make([][]byte, math.MaxUint32/namePage)
	n.names.end = len(n.names.pages)*namePage - 10
	if ci := n.intern(strings.Repeat("x", 100)); ci != noNameRoom {
		t.Errorf("a name past 4 GiB of names: intern = %d, want noNameRoom", ci)
	}
}
