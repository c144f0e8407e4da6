package window_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestFrozenEncodesTheStateAsFrozen: a Frozen state encodes to the bytes the state
// encoded to when it was frozen, whatever the state did after (new groups, windows
// closed and groups dropped, runs grown, incidents opened and closed, ids compacted),
// and one Frozen serves many freezes. Run with -race, it also shows that the copy
// shares no memory the state writes.
func TestFrozenEncodesTheStateAsFrozen(t *testing.T) {
	for _, fields := range []string{
		`"aggregate":{"fn":"sum","path":"$.v"},"group_by":["$.g"],"window":{"size":"10s"},"threshold":1e9`,
		`"group_by":["$.g"],"window":{"size":"10s","every":"2s"},"lateness":"3s","threshold":4`,
		`"aggregate":{"fn":"min","path":"$.v"},"group_by":["$.g"],"window":{"size":"4s","every":"1s"},"threshold":{"op":"<","value":3},"alert":{"suppress":"6s"}`,
		`"aggregate":{"fn":"count_distinct","path":"$.v"},"group_by":["$.g"],"window":{"size":"6s","every":"3s"},"threshold":3`,
		`"aggregate":{"fn":"avg","path":"$.v"},"group_by":["$.g"],"threshold":5`,
	} {
		t.Run(fields[:24], func(t *testing.T) {
			r := mustRule(t, fields)
			st := window.New(r, window.Limits{MaxGroups: 400, MaxDistinct: 8})
			f := newFeeder()
			rng := rand.New(rand.NewPCG(7, 19))
			now := int64(1_000_000)
			event := func() in {
				now += rng.Int64N(40)
				at := now
				if rng.IntN(10) == 0 {
					at -= rng.Int64N(5000) // late, or within lateness
				}
				return in{fmt.Sprint("c", rng.IntN(3)), fmt.Sprintf(`{"g":"g%d","v":%d}`, rng.IntN(600), rng.IntN(10)), at}
			}
			var fz window.Frozen
			changed, peak := 0, 0
			for round := range 12 {
				for range 200 + rng.IntN(400) {
					f.add(t, st, event())
				}
				want := st.AppendTo(nil)
				peak = max(peak, st.GroupCount())
				st.Freeze(&fz)
				for range 300 {
					f.add(t, st, event())
				}
				after := st.AppendTo(nil)
				if !bytes.Equal(after, want) {
					changed++
				}
				got := fz.Draft().AppendTo(nil)
				if !bytes.Equal(got, want) {
					t.Fatalf("round %d: the frozen state encodes to %d bytes, the state when frozen to %d", round, len(got), len(want))
				}
				if d := fz.Draft(); d.Len() != len(want) {
					t.Fatalf("round %d: Len %d, encoding %d bytes", round, d.Len(), len(want))
				}
			}
			if changed == 0 {
				t.Fatal("the events after each freeze changed nothing: the test shows nothing")
			}
			if peak < 100 {
				t.Fatalf("at most %d groups: too few to show anything", peak)
			}
		})
	}
}
