package window_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestReplay checks that Replay evaluates each rule on the events its condition and
// scope match, plain counts as running counts and the rest through a State, and that
// its results keep their group keys after later events.
func TestReplay(t *testing.T) {
	var rules []*rule.Rule
	for _, text := range []string{
		`{"id":"plain","scope":"*","when":{"path":"$.kind","op":"==","value":"login"},"threshold":2}`,
		`{"id":"sum","scope":"*","when":{"path":"$.kind","op":"==","value":"pay"},"aggregate":{"fn":"sum","path":"$.amount"},"group_by":["$.card"],"window":{"size":"1m"},"threshold":100}`,
		`{"id":"mine","scope":"c1","when":{"path":"$.kind","op":"exists"},"aggregate":{"fn":"count_distinct","path":"$.kind"},"threshold":2}`,
	} {
		r, err := rule.ParseRule([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	set, err := rule.NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	p := window.NewReplay(set, window.Limits{})
	doc := jsonpath.NewDocument()
	var got []window.Result
	for _, e := range []in{
		{"c1", `{"kind":"login"}`, 1000},
		{"c2", `{"kind":"login"}`, 2000},
		{"c2", `{"kind":"pay","card":"A","amount":60}`, 3000},
		{"c2", `{"kind":"pay","card":"B","amount":60}`, 4000},
		{"c1", `{"kind":"pay","card":"A","amount":60}`, 5000}, // another customer's card A
		{"c2", `{"kind":"pay","card":"A","amount":40}`, 6000}, // c2's A reaches 100
		{"c1", `{"kind":"login"}`, 7000},                      // c1's second login
		{"c2", `{"kind":"login"}`, 8000},                      // c2's second login
		{"c2", `{"kind":"login"}`, 9000},                      // a plain count alerts once
		// Reuses the state's key buffer: a result that aliased it would now say "Z".
		{"c2", `{"kind":"pay","card":"Z","amount":1}`, 10000},
	} {
		if err := doc.Reset([]byte(e.doc)); err != nil {
			t.Fatal(err)
		}
		got = p.Add(0, e.cust, doc, time.UnixMilli(e.rec), got)
	}
	type result struct {
		rule string
		c    crossing
	}
	var gotR []result
	for _, res := range got {
		gotR = append(gotR, result{res.Rule.ID, fromCrossing(res.Crossing)})
	}
	want := []result{
		// c1's first pay: "mine" sees a second distinct kind.
		{"mine", crossing{Customer: "c1", Count: 2, Value: 2}},
		{"sum", crossing{"c2", gk(`"A"`), true, 0, 60000, 2, 100, false}},
		{"plain", crossing{Customer: "c1", Count: 2, Value: 2}},
		{"plain", crossing{Customer: "c2", Count: 2, Value: 2}},
	}
	if !slices.Equal(gotR, want) {
		t.Errorf("results\n%v\nwant\n%v", gotR, want)
	}
	if n := p.Count(rules[0], "c2"); n != 3 {
		t.Errorf("plain count of c2 is %d, want 3", n)
	}
	if n := p.Count(rules[0], "nobody"); n != 0 {
		t.Errorf("plain count of nobody is %d, want 0", n)
	}
	st := p.State(rules[1])
	if st != p.State(rules[1]) || st.Rule() != rules[1] {
		t.Error("State does not return the rule's one state")
	}
	// c1 A, c2 A, c2 B, c2 Z: one window each.
	if st.GroupCount() != 4 {
		t.Errorf("sum rule has %d groups, want 4", st.GroupCount())
	}
}
