package live

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestConsoleCountsOfWindowedRules: the console's summary of every active rule, plain
// or kept per group and window, is what /v1/counts lists for it (Daemon.CountsPage): a
// windowed rule counts, per customer, its largest open window; the customers are those
// with an open window. The windows of a version no longer active (the same key, an older
// version, still held by its partitions) are left out.
func TestConsoleCountsOfWindowedRules(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3) {
		f := newStateFixture(t, 3)
		windowed := func(version int64, seq uint32) *controls.Version {
			r, err := rule.ParseRule(fmt.Appendf(nil, `{"id":"per-group","scope":"*","version":%d,"when":{"path":"$.g","op":"exists"},`+
				`"group_by":["$.g"],"window":{"size":"1m"},"lateness":"1h","threshold":3}`, version))
			if err != nil {
				t.Fatal(err)
			}
			return &controls.Version{Rule: r, Key: r.Key(), Fingerprint: controls.Fingerprint(r), Seq: seq}
		}
		win, stale := windowed(2, 10), windowed(1, 11)
		s, err := newActiveSet(append(slices.Clone(f.rules), win))
		if err != nil {
			t.Fatal(err)
		}
		f.d.active.Store(s)

		// Three partitions, half of each one's customers also the next one's (a customer
		// is summed over partitions, or takes its largest window in any, as /v1/counts
		// does): a few events each, in up to three groups and five minutes (every window
		// stays open: an hour of lateness).
		rng := rand.New(rand.NewPCG(seed, 3))
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		doc := jsonpath.NewDocument()
		f.d.parts = map[int32]*partition{}
		for pid := range int32(3) {
			p := newPartition(pid)
			p.windows[win] = window.New(win.Rule, window.DefaultLimits)
			p.windows[stale] = window.New(stale.Rule, window.DefaultLimits)
			for c := 15 * int(pid); c < 15*int(pid)+30; c++ {
				name := fmt.Sprintf("c-%03d", c)
				ci := p.counts.intern(name)
				for _, ar := range f.rules {
					if rng.IntN(2) == 0 {
						p.counts.add(ci, ar.Seq, 1+rng.Int64N(9))
					}
				}
				for range rng.IntN(6) { // some customers have no window
					if err := doc.Reset(fmt.Appendf(nil, `{"g":"g%d"}`, rng.IntN(3))); err != nil {
						t.Fatal(err)
					}
					ev := &window.Event{Customer: name, Doc: doc, Time: base.Add(time.Duration(rng.IntN(300)) * time.Second)}
					p.windows[win].Add(ev, func(window.Crossing) {})
					p.windows[stale].Add(ev, func(window.Crossing) {})
				}
			}
			f.d.parts[pid] = p
		}

		// A plain rule's customer on two partitions: its largest counter of one
		// (PartitionMax); a windowed rule's count is one window's, on one partition.
		partMax := map[uint32]map[string]int64{}
		for _, p := range f.d.parts {
			p.counts.each(func(ci int, id uint32, n int64) {
				if partMax[id] == nil {
					partMax[id] = map[string]int64{}
				}
				partMax[id][p.counts.name(ci)] = max(partMax[id][p.counts.name(ci)], n)
			})
		}
		for _, top := range []int{0, 1, 5, 100} {
			got := consoleBackend{f.d}.Counts(top)
			for _, ar := range append(slices.Clone(f.rules), win) {
				page, next, ok := f.d.CountsPage(ar.Key, "", 1000)
				if !ok || next != "" {
					t.Fatalf("CountsPage(%s): ok %v, next %q", ar.Key, ok, next)
				}
				var want contract.CountSummary
				var all []contract.CustomerCount
				for _, v := range page {
					want.Customers++
					want.Total += v.Count
					pm := v.Count
					if ar != win {
						pm = partMax[ar.Seq][v.Customer]
					}
					all = append(all, contract.CustomerCount{Customer: v.Customer, Count: v.Count, PartitionMax: pm})
				}
				slices.SortFunc(all, func(a, b contract.CustomerCount) int {
					return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Customer, b.Customer))
				})
				g := got[ar.Key]
				if g.Customers != want.Customers || g.Total != want.Total || !slices.Equal(g.Top, all[:min(top, len(all))]) {
					t.Errorf("seed %d, top %d, %s: %d customers, total %d, top %v; /v1/counts has %d, %d, top %v",
						seed, top, ar.Key, g.Customers, g.Total, g.Top, want.Customers, want.Total, all[:min(top, len(all))])
				}
				if ar == win && (want.Customers == 0 || want.Customers == 60) {
					t.Fatalf("seed %d: %d customers with windows: the fixture should leave some without", seed, want.Customers)
				}
			}
		}
	}
}
