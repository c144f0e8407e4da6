package window_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/window"
)

// TestSilenceBelowMatchesTheMaps compares, over 3,000 random partitions (hopping and
// tumbling windows, suppression with and without resolve and its extensions, late
// events, incidents past max_groups sent untracked), SilenceBelow with the two maps it
// replaced in live, copied here as they were: a windowed hand-off's heldBack (history
// crossings silenced with Silence after the replay, their resolves dropped meanwhile)
// and an ended version replay's opened (only incidents opened from replayFrom
// resolved). The crossings sent are the same. Written by a review of the change.
func TestSilenceBelowMatchesTheMaps(t *testing.T) {
	rules := []string{
		`"group_by":["$.g"],"window":{"size":"10s"},"threshold":1,"alert":{"resolve":true}`,
		`"group_by":["$.g"],"window":{"size":"10s","every":"5s"},"threshold":2,"alert":{"suppress":"12s","resolve":true}`,
		`"group_by":["$.g"],"window":{"size":"10s","every":"2s"},"lateness":"3s","threshold":1,"alert":{"suppress":"30s","resolve":true}`,
		`"group_by":["$.g"],"window":{"size":"10s","every":"5s"},"threshold":1,"alert":{"suppress":"20s"}`,
		`"window":{"size":"6s","every":"2s"},"threshold":2,"alert":{"suppress":"3s","resolve":true}`,
	}
	type key struct {
		customer, group string
		start           int64
	}
	dropped, resolvedN := 0, 0
	defer func() { t.Logf("dropped in %d runs, %d resolves", dropped, resolvedN) }()
	for seed := range uint64(3000) {
		rng := rand.New(rand.NewPCG(seed, 7))
		r := mustRule(t, rules[rng.IntN(len(rules))])
		lim := window.Limits{MaxGroups: int64(1 + rng.IntN(4))}
		n := 5 + rng.IntN(40)
		var evs []in
		tm := int64(0)
		for range n {
			tm += int64(rng.IntN(4000)) - 800
			evs = append(evs, in{fmt.Sprintf("c%d", rng.IntN(2)), fmt.Sprintf(`{"g":"%d"}`, rng.IntN(4)), max(tm, 0)})
		}
		mark := int64(rng.IntN(n + 1))
		doc := jsonpath.NewDocument()
		feed := func(s *window.State, off int64, e in, cross func(window.Crossing)) {
			if err := doc.Reset([]byte(e.doc)); err != nil {
				t.Fatal(err)
			}
			s.Add(&window.Event{Customer: e.cust, Doc: doc, Time: time.UnixMilli(e.rec), Offset: off}, cross)
		}
		str := func(off int64, c window.Crossing) string {
			return fmt.Sprintf("%d %s %q %d-%d resolved=%v", off, c.Customer, c.Group, c.Start, c.End, c.Resolved)
		}

		// The hand-off (not a recount, backfill.alert off): start = end = mark.
		var oldOut, newOut []string
		{
			s := window.New(r, lim)
			held := map[key]bool{}
			for i := int64(0); i < mark; i++ {
				feed(s, i, evs[i], func(c window.Crossing) {
					k := key{c.Customer, string(c.Group), c.Start}
					if c.Windowed {
						switch {
						case !c.Resolved:
							held[k] = true
						case c.Resolved && held[k]:
							delete(held, k)
							return
						}
					}
				})
			}
			for k := range held {
				s.Silence(k.customer, []byte(k.group), k.start)
			}
			for i := mark; i < int64(n); i++ {
				feed(s, i, evs[i], func(c window.Crossing) { oldOut = append(oldOut, str(i, c)) })
			}
			s.EndIncidents(func(c window.Crossing) { oldOut = append(oldOut, str(-1, c)) })
		}
		{
			s := window.New(r, lim)
			s.SilenceBelow(mark)
			for i := int64(0); i < int64(n); i++ {
				feed(s, i, evs[i], func(c window.Crossing) {
					if i >= mark {
						newOut = append(newOut, str(i, c))
					}
				})
			}
			s.EndIncidents(func(c window.Crossing) { newOut = append(newOut, str(-1, c)) })
			if s.Stats().IncidentsDropped > 0 {
				dropped++
			}
			for _, o := range newOut {
				if len(o) > 0 && o[len(o)-4:] == "true" {
					resolvedN++
				}
			}
		}
		if !slices.Equal(oldOut, newOut) {
			t.Fatalf("seed %d hand-off, rule %s, mark %d, events %v:\nold %q\nnew %q", seed, r.Key(), mark, evs, oldOut, newOut)
		}

		// The ended replay from replayFrom = mark, to the end of the events.
		oldOut, newOut = nil, nil
		{
			s := window.New(r, lim)
			opened := map[key]bool{}
			for i := int64(0); i < int64(n); i++ {
				feed(s, i, evs[i], func(c window.Crossing) {
					k := key{c.Customer, string(c.Group), c.Start}
					switch {
					case !c.Windowed:
					case !c.Resolved && i >= mark:
						opened[k] = true
					case c.Resolved && opened[k]:
						delete(opened, k)
						oldOut = append(oldOut, str(i, c))
					}
				})
			}
			if len(opened) > 0 {
				s.EndIncidents(func(c window.Crossing) {
					if opened[key{c.Customer, string(c.Group), c.Start}] {
						oldOut = append(oldOut, str(-1, c))
					}
				})
			}
		}
		{
			s := window.New(r, lim)
			s.SilenceBelow(mark)
			for i := int64(0); i < int64(n); i++ {
				feed(s, i, evs[i], func(c window.Crossing) {
					if c.Windowed && c.Resolved {
						newOut = append(newOut, str(i, c))
					}
				})
			}
			s.EndIncidents(func(c window.Crossing) { newOut = append(newOut, str(-1, c)) })
		}
		if !slices.Equal(oldOut, newOut) {
			t.Fatalf("seed %d ended replay, rule %s, mark %d, events %v:\nold %q\nnew %q", seed, r.Key(), mark, evs, oldOut, newOut)
		}
	}
}
