package live

import (
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/controls"
)

// TestRestoredOverEndsAtTheBound: counters restored over a lowered --max-counters
// degrade the rule until enough are dropped; back at the bound the store is full, not
// over it, and the rule is no longer reported restored over.
func TestRestoredOverEndsAtTheBound(t *testing.T) {
	t.Parallel()
	ar := &controls.Version{}
	p := &partition{restoredOver: map[*controls.Version][]string{ar: {limitCounters}}}
	p.counts.max = 2
	for _, c := range []struct {
		live int
		want []string
	}{{3, []string{limitCounters}}, {2, nil}, {1, nil}} {
		p.counts.live = c.live
		if got := p.restoredOverNow(ar); !slices.Equal(got, c.want) {
			t.Errorf("%d counters live under --max-counters 2: restored over %v; want %v", c.live, got, c.want)
		}
	}
}
