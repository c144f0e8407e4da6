package live

import (
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
)

// TestHistoryFiringBoundsAreTheEarliestAndLatest: a partition's firings come in offset
// order, and record times are any a producer stamps, so the first firing in order need
// not be the earliest. History's first_firing and last_firing are the earliest and
// latest crossing times over every partition, whichever partition the view sums first;
// truncated lists the partitions whose history began above offset 0, in partition order.
func TestHistoryFiringBoundsAreTheEarliestAndLatest(t *testing.T) {
	t.Parallel()
	ar := &controls.Version{}
	at := func(h int) time.Time { return time.Date(2026, 3, 1, h, 0, 0, 0, time.UTC) }
	p0 := &partHistory{heldFrom: 40}
	for _, h := range []int{5, 3, 9, 4} {
		p0.fired(at(h))
	}
	p1 := &partHistory{}
	for _, h := range []int{2, 1, 10, 6} {
		p1.fired(at(h))
	}
	p2 := &partHistory{heldFrom: 7}
	p2.fired(at(7))
	parts := []*partition{
		{id: 2, history: map[*controls.Version]*partHistory{ar: p2}},
		{id: 0, history: map[*controls.Version]*partHistory{ar: p0}},
		{id: 1, history: map[*controls.Version]*partHistory{ar: p1}},
	}
	var v contract.RuleView
	for _, p := range parts {
		p.addHistory(ar, &v)
	}
	rh := v.History
	if rh.FirstFiring == nil || !rh.FirstFiring.Equal(at(1)) || rh.LastFiring == nil || !rh.LastFiring.Equal(at(10)) || rh.Firings != 9 {
		t.Errorf("history: %d firings from %v to %v; want 9 from %v to %v", rh.Firings, rh.FirstFiring, rh.LastFiring, at(1), at(10))
	}
	wantTrunc := []contract.HistoryStart{{Partition: 0, From: 40}, {Partition: 2, From: 7}}
	if !slices.Equal(rh.Truncated, wantTrunc) || !slices.Equal(rh.Partitions, []int32{0, 1, 2}) {
		t.Errorf("history partitions %v, truncated %+v; want [0 1 2], %+v", rh.Partitions, rh.Truncated, wantTrunc)
	}
}
