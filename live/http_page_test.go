package live

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPageCollectorAgreesWithSort: paging through random counters (customers repeated
// across "partitions", fed in random order) with the bounded collector gives exactly
// the sorted, summed listing, page by page, for page sizes from 1 up.
func TestPageCollectorAgreesWithSort(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		type counter struct {
			name string
			n    int64
		}
		var feed []counter
		want := map[string]int64{}
		for range rng.IntN(300) {
			c := counter{fmt.Sprintf("c-%03d", rng.IntN(120)), 1 + rng.Int64N(9)}
			feed = append(feed, c)
			want[c.name] += c.n
		}
		var names []string
		for name := range want {
			names = append(names, name)
		}
		slices.Sort(names)
		limit := 1 + rng.IntN(30)
		var got []pageEntry
		after, pages := "", 0
		for {
			pc := newPageCollector(after, limit+1)
			for _, i := range rng.Perm(len(feed)) {
				pc.add([]byte(feed[i].name), feed[i].n)
			}
			rows := pc.sorted()
			pages++
			if pages > len(names)+2 {
				t.Fatalf("seed %d: paging does not end", seed)
			}
			if len(rows) <= limit {
				got = append(got, rows...)
				break
			}
			got = append(got, rows[:limit]...)
			after = rows[limit-1].name
		}
		if len(got) != len(names) {
			t.Fatalf("seed %d, limit %d: %d customers listed, want %d", seed, limit, len(got), len(names))
		}
		for i, e := range got {
			if e.name != names[i] || e.n != want[e.name] {
				t.Fatalf("seed %d, limit %d: row %d = %s %d, want %s %d", seed, limit, i, e.name, e.n, names[i], want[names[i]])
			}
		}
		if !slices.IsSortedFunc(got, func(a, b pageEntry) int { return cmp.Compare(a.name, b.name) }) {
			t.Fatalf("seed %d: not in customer order", seed)
		}
	}
}

// BenchmarkCountsListing compares listing one rule's counts over 1M customers as one
// answer (Counts, what /v1/counts?rule= returned before pages) with one page of 1000
// (CountsPage), each encoded as the answer would be.
func BenchmarkCountsListing(b *testing.B) {
	r, err := rule.ParseRule([]byte(`{"id":"any","scope":"*","when":{"path":"$.type"},"threshold":1000000}`))
	if err != nil {
		b.Fatal(err)
	}
	v := &controls.Version{Rule: r, Key: r.Key(), Seq: 1}
	s, err := newActiveSet([]*controls.Version{v})
	if err != nil {
		b.Fatal(err)
	}
	d := &Daemon{parts: map[int32]*partition{}}
	d.active.Store(s)
	const customers = 1_000_000
	for pid := range int32(4) {
		p := newPartition(pid)
		for i := int(pid); i < customers; i += 4 {
			p.counts.add(p.counts.intern(fmt.Sprintf("customer-%07d", i)), v.Seq, int64(1+i%7))
		}
		d.parts[pid] = p
	}
	encode := func(v any) {
		enc := json.NewEncoder(io.Discard)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cs, _ := d.Counts(v.Key)
			encode(map[string]any{"counts": cs})
		}
	})
	b.Run("page1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			page, next, _ := d.CountsPage(v.Key, "customer-0500000", 1000)
			encode(contract.CountsPage{Counts: page, NextCursor: next})
		}
	})
}
