package window_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestReplayPlainCountsAreBounded checks that Replay (what backtest, the console's
// backtest and `rules test` run) bounds a plain count's counters as live does at
// --max-counters. A running count written as a plain rule (threshold 1) and the same
// count written with ">" 0 (a window.State, one group per customer) are one verdict;
// under bounds of 10 counters and 10 groups, each keeps 10 customers and says
// Degraded. Without the bound the plain form kept a counter for every customer it ever
// saw (memory growing with the history's distinct customers) and answered otherwise
// than live, with nothing said.
func TestReplayPlainCountsAreBounded(t *testing.T) {
	const customers = 1000
	lim := window.Limits{MaxGroups: 10, MaxCounters: 10}
	forms := []struct {
		name, text string
	}{
		{"plain", `{"id":"plain","scope":"*","version":1,"when":{"path":"$","op":"exists"},"threshold":1}`},
		{"state", `{"id":"state","scope":"*","version":1,"when":{"path":"$","op":"exists"},"threshold":{"op":">","value":0}}`},
	}
	type outcome struct {
		fired, kept int
		degraded    string
	}
	got := map[string]outcome{}
	for _, f := range forms {
		r, err := rule.ParseRule([]byte(f.text))
		if err != nil {
			t.Fatal(err)
		}
		set, err := rule.NewSet([]*rule.Rule{r})
		if err != nil {
			t.Fatal(err)
		}
		rp := window.NewReplay(set, lim)
		doc := jsonpath.NewDocument()
		if err := doc.Reset([]byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		fired := 0
		var res []window.Result
		for i := range customers {
			res = rp.Add(int64(i), "c-"+strconv.Itoa(i), doc, time.UnixMilli(int64(i)), res[:0])
			fired += len(res)
		}
		o := outcome{fired: fired, degraded: rp.Degraded(r)}
		if r.Plain() {
			for i := range customers {
				if rp.Count(r, "c-"+strconv.Itoa(i)) > 0 {
					o.kept++
				}
			}
		} else {
			o.kept = int(rp.State(r).GroupCount())
		}
		got[f.name] = o
		t.Logf("%s (Plain %v): %d alerts over %d customers, %d kept, degraded %q", f.name, r.Plain(), fired, customers, o.kept, o.degraded)
	}
	p, st := got["plain"], got["state"]
	if p.kept != 10 || p.fired != 10 || !strings.Contains(p.degraded, "counter store full") || !strings.Contains(p.degraded, "990 matches that needed a new counter were not counted") {
		t.Errorf("under limits %+v the plain form kept %d counters, raised %d alerts, degraded %q; want 10, 10, and degraded naming the 990 matches not counted",
			lim, p.kept, p.fired, p.degraded)
	}
	if p.fired != st.fired || st.degraded == "" {
		t.Errorf("the plain form raised %d alerts, the same count as a State %d (degraded %q): want one verdict, both degraded", p.fired, st.fired, st.degraded)
	}
}

// TestReplayPlainCountsBoundedByDefault: a Replay given no MaxCounters (Limits{}, as
// `rules check` makes it) bounds plain counts at DefaultMaxCounters, live's
// --max-counters default, not at nothing: 1000 plain rules matching every event of
// 10,000 customers fill the ten million counters, and the next customer's match is
// refused and said in Degraded, as live's store would refuse it. Without the default the
// replay counted it, and answered otherwise than live at its default.
func TestReplayPlainCountsBoundedByDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("replay at the default counter bound: make test runs it")
	}
	const rules, customers = 1000, 10_000
	if rules*customers != window.DefaultMaxCounters {
		t.Fatalf("%d rules over %d customers make %d counters, not the default bound %d", rules, customers, rules*customers, window.DefaultMaxCounters)
	}
	rs := make([]*rule.Rule, rules)
	for i := range rs {
		r, err := rule.ParseRule([]byte(`{"id":"r` + strconv.Itoa(i) + `","scope":"*","version":1,"when":{"path":"$","op":"exists"},"threshold":2}`))
		if err != nil {
			t.Fatal(err)
		}
		rs[i] = r
	}
	set, err := rule.NewSet(rs)
	if err != nil {
		t.Fatal(err)
	}
	rp := window.NewReplay(set, window.Limits{})
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	var res []window.Result
	for i := range customers {
		res = rp.Add(int64(i), "c-"+strconv.Itoa(i), doc, time.UnixMilli(int64(i)), res[:0])
	}
	for _, r := range rs {
		if d := rp.Degraded(r); d != "" {
			t.Fatalf("rule %s degraded at %d counters, below the default bound: %q", r.ID, rules*customers, d)
		}
	}
	// A known customer's counters are not new: they still count, and cross.
	res = rp.Add(customers, "c-0", doc, time.UnixMilli(customers), res[:0])
	if len(res) != rules || rp.Count(rs[0], "c-0") != 2 {
		t.Fatalf("c-0's second event raised %d alerts, counted %d for %s; want %d, 2", len(res), rp.Count(rs[0], "c-0"), rs[0].ID, rules)
	}
	res = rp.Add(customers+1, "c-new", doc, time.UnixMilli(customers+1), res[:0])
	want := "counter store full (at --max-counters 10000000 counters): 1 matches that needed a new counter were not counted"
	for _, r := range []*rule.Rule{rs[0], rs[rules-1]} {
		if n, d := rp.Count(r, "c-new"), rp.Degraded(r); n != 0 || d != want {
			t.Errorf("past the default bound, rule %s counted %d for a new customer, degraded %q; want 0, %q", r.ID, n, d, want)
		}
	}
	if len(res) != 0 {
		t.Errorf("a new customer past the default bound raised %d alerts", len(res))
	}
}
