package backtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestTallyRanksTheFirstGroupsToFire: each event its own group, 20,000 of them, under
// --max-groups 100. The tally kept every group that
// ever fired, 20 MB of keys here, to list ten; it ranks the first 100 to fire, counts
// every firing, and says how many the rankings leave out. A group that fires again
// keeps being counted.
func TestTallyRanksTheFirstGroupsToFire(t *testing.T) {
	t.Parallel()
	r, err := rule.ParseRule([]byte(`{"id":"own-groups","scope":"*","when":{"path":"$.id","op":"exists"},
		"group_by":["$.id"],"window":{"size":"1m"},"threshold":1,"alert":{"suppress":"0s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := rule.NewSet([]*rule.Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	lim := window.Limits{MaxGroups: 100}
	rp := window.NewReplay(set, lim)
	tl := newTally([]*rule.Rule{r}, lim, 0)
	doc := jsonpath.NewDocument()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	var found []window.Result
	for i := range n {
		id := i
		if i%2 == 1 && i < 100 {
			id = 0 // the first group fires 51 times, in windows of its own
		}
		if err := doc.Reset(fmt.Appendf(nil, `{"id":"g-%d"}`, id)); err != nil {
			t.Fatal(err)
		}
		found = rp.Add(int64(i), "c-1", doc, base.Add(time.Duration(i)*time.Minute), found[:0])
		for _, x := range found {
			if err := tl.fired(x, base); err != nil {
				t.Fatal(err)
			}
		}
	}
	rt := tl.of[r]
	out := tl.report()[0]
	if len(rt.groups) != 100 || len(rt.customers) != 1 || out.Firings != n {
		t.Errorf("the tally holds %d groups and %d customers after %d firings; want 100 and 1", len(rt.groups), len(rt.customers), out.Firings)
	}
	if g := out.Groups[0]; string(g.Group) != `{"$.id":"g-0"}` || g.Firings != 51 {
		t.Errorf("top group %s with %d firings; want g-0 with 51", g.Group, g.Firings)
	}
	// The first 100 groups to fire are the 50 of the first 100 events (g-0 and the
	// even ones, 100 firings) and g-100 to g-149: 150 firings are ranked.
	unranked := n - 150
	if want := fmt.Sprintf("the rankings hold the first 100 customers and groups to fire (--max-groups): %d firings of later ones are not ranked", unranked); out.RankingsCut != want {
		t.Errorf("rankings cut %q; want %q", out.RankingsCut, want)
	}
}
