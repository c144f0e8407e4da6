package window

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRunsFollowOpenWindows drives a few groups with many open windows (a long
// lateness) through every way a run changes (runs.go): its head moving past closed
// cells, its cells moved back to the front of its array, a move to a larger run, and
// to a smaller one once most of its windows closed at once. The state is checked
// (check) throughout, and compared with a twin decoded afresh from its own encoding
// every few events, whose runs start at their arrays' fronts: both must cross
// alike and encode alike, and a frozen copy must encode as the state did.
func TestRunsFollowOpenWindows(t *testing.T) {
	events := 20_000
	if testing.Short() {
		events = 6_000
	}
	for _, agg := range []string{`{"fn":"sum","path":"$.v"}`, `{"fn":"count_distinct","path":"$.v"}`} {
		r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$","op":"exists"},"aggregate":` + agg +
			`,"group_by":["$.g"],"window":{"size":"2s","every":"1s"},"lateness":"60s","threshold":12}`))
		if err != nil {
			t.Fatal(err)
		}
		lim := Limits{MaxDistinct: 5}
		a, b := New(r, lim), New(r, lim)
		doc := jsonpath.NewDocument()
		rng := rand.New(rand.NewPCG(3, 11))
		type runAt struct {
			ref       runRef
			head, cap int
		}
		runs := func() map[uint32]runAt {
			m := map[uint32]runAt{}
			for slot := range a.liveSlots() {
				if g := a.group(slot); g.more != 0 {
					i := g.more.index()
					m[slot] = runAt{g.more, int(a.runHead[i]), cap(a.runs[i])}
				}
			}
			return m
		}
		took := map[string]int{}
		var fz Frozen
		now := int64(1_000_000)
		for n := range events {
			now += rng.Int64N(400)
			if n%3000 == 2999 {
				now += 50_000 // most windows close at once
			}
			at := now
			if rng.IntN(4) == 0 {
				at -= rng.Int64N(40_000) // within lateness: between a group's cells
			}
			if err := doc.Reset(fmt.Appendf(nil, `{"g":%d,"v":%d}`, rng.IntN(4), rng.IntN(7))); err != nil {
				t.Fatal(err)
			}
			before := runs()
			var ca, cb []string
			ev := Event{Customer: "c", Doc: doc, Time: time.UnixMilli(at), Offset: int64(n)}
			a.Add(&ev, func(c Crossing) { ca = append(ca, fmt.Sprintf("%+v", c)) })
			b.Add(&ev, func(c Crossing) { cb = append(cb, fmt.Sprintf("%+v", c)) })
			if !slices.Equal(ca, cb) {
				t.Fatalf("%s: event %d: crossings\n%v\nthe decoded twin's\n%v", agg, n, ca, cb)
			}
			for slot, was := range before {
				now, ok := runs()[slot]
				switch {
				case !ok:
				case now.ref == was.ref && now.head > was.head:
					took["head moved"]++
				case now.ref == was.ref && now.head == 0 && was.head > 0:
					took["moved to its array's front"]++
				case now.ref != was.ref && now.cap > was.cap:
					took["moved to a larger run"]++
				case now.ref != was.ref && now.cap < was.cap:
					took["moved to a smaller run"]++
				}
			}
			if err := a.check(); err != nil {
				t.Fatalf("%s: event %d: %v", agg, n, err)
			}
			if n%7 == 0 {
				if want, got := b.AppendTo(nil), a.AppendTo(nil); !bytes.Equal(got, want) {
					t.Fatalf("%s: event %d: the state encodes to %d bytes, its decoded twin to %d", agg, n, len(got), len(want))
				}
			}
			if n%50 == 0 {
				if b, _, err = Decode(r, lim, b.AppendTo(nil)); err != nil {
					t.Fatal(err)
				}
			}
			if n%500 == 0 {
				a.Freeze(&fz)
				want := a.AppendTo(nil)
				a.Add(&ev, func(Crossing) {}) // the state goes on changing
				b.Add(&ev, func(Crossing) {})
				if got := fz.Draft().AppendTo(nil); !bytes.Equal(got, want) {
					t.Fatalf("%s: event %d: the frozen state encodes to %d bytes, the state when frozen to %d", agg, n, len(got), len(want))
				}
			}
		}
		for _, path := range []string{"head moved", "moved to its array's front", "moved to a larger run", "moved to a smaller run"} {
			if took[path] == 0 {
				t.Errorf("%s: no event took the path %q: %v", agg, path, took)
			}
		}
		t.Logf("%s: %v", agg, took)
	}
}
