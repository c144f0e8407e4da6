package window_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestReplayPlainCountsAreBounded checks that Replay (what backtest, the console's
// preview and `rules test` run) bounds a plain count's state as it bounds every other
// rule's. A running count written as a plain rule (threshold 1) and the same count
// written with ">" 0 (a window.State, one group per customer) are one verdict; under
// limits of 10 groups, the State keeps 10 customers and says Degraded, while the plain
// form keeps a counter for every customer it ever saw (one map entry each, no bound, no
// Degraded): memory grows with the history's distinct customers, and the two forms
// answer differently for the same events with nothing said. Live bounds the plain
// form too (--max-counters, the rule degraded).
func TestReplayPlainCountsAreBounded(t *testing.T) {
	const customers = 1000
	lim := window.Limits{MaxGroups: 10}
	forms := []struct {
		name, text string
	}{
		{"plain", `{"id":"plain","scope":"*","version":1,"when":{"path":"$","op":"exists"},"threshold":1}`},
		{"state", `{"id":"state","scope":"*","version":1,"when":{"path":"$","op":"exists"},"threshold":{"op":">","value":0}}`},
	}
	type outcome struct {
		fired    int
		degraded string
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
		o := outcome{fired: fired}
		if !r.Plain() {
			o.degraded = rp.State(r).Degraded()
		}
		got[f.name] = o
		t.Logf("%s (Plain %v): %d alerts over %d customers, degraded %q, plain count of the last customer %d",
			f.name, r.Plain(), fired, customers, o.degraded, rp.Count(r, "c-"+strconv.Itoa(customers-1)))
	}
	if p, s := got["plain"], got["state"]; p.fired != s.fired {
		t.Errorf("under limits %+v the plain form raised %d alerts (state unbounded, nothing degraded), where the same count as a State raised %d (degraded %q): two verdicts, and the plain form's state is bounded by nothing",
			lim, p.fired, s.fired, s.degraded)
	}
}
