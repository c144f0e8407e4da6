package workload

import (
	"encoding/json"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// WindowedPercent makes exactly its share of the rules windowed and grouped, valid,
// the same for the same seed, and leaves ids, scopes and conditions as they are
// without it: a benchmark compares the two sets on the same matches.
func TestRulesWindowedPercent(t *testing.T) {
	const n = 1000
	plain := Rules(3, n, RulesConfig{Customers: 40})
	windowed := Rules(3, n, RulesConfig{Customers: 40, WindowedPercent: 50})
	again := Rules(3, n, RulesConfig{Customers: 40, WindowedPercent: 50})
	fns := map[string]int{}
	timed, hopping := 0, 0
	for i := range n {
		p, w := plain[i], windowed[i]
		if !p.Plain() {
			t.Fatalf("rule %d of the plain set is not plain: %+v", i, p)
		}
		if p.ID != w.ID || p.Scope != w.Scope || !sameJSON(t, p.When, w.When) {
			t.Fatalf("rule %d: windowing changed id, scope or condition:\n%s\n%s", i, mustJSON(t, p), mustJSON(t, w))
		}
		if !sameJSON(t, w, again[i]) {
			t.Fatalf("rule %d differs between two calls with the same seed", i)
		}
		if w.Plain() {
			continue
		}
		if err := w.Validate(); err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
		if len(w.GroupBy) == 0 || w.Window == nil {
			t.Fatalf("rule %d is neither grouped nor windowed: %s", i, mustJSON(t, w))
		}
		fns[w.Aggregate.Fn]++
		if w.Time != "" {
			timed++
		}
		if w.Window.Every < w.Window.Size {
			hopping++
		}
	}
	got := n - len(plainOnes(windowed))
	if got != n/2 {
		t.Fatalf("%d windowed rules, want %d", got, n/2)
	}
	for _, fn := range []string{rule.AggCount, rule.AggSum, rule.AggMax} {
		if fns[fn] < 50 {
			t.Errorf("%d %s rules of %d windowed: want a real mix (%v)", fns[fn], fn, got, fns)
		}
	}
	if timed == 0 || timed == got || hopping == 0 || hopping == got {
		t.Errorf("%d of %d windowed rules use an event-time path, %d hop: want some of each", timed, got, hopping)
	}
	for _, p := range []int{0, 1, 10, 100} {
		rs := Rules(5, 250, RulesConfig{WindowedPercent: p})
		if w := 250 - len(plainOnes(rs)); w != 250*p/100 {
			t.Errorf("WindowedPercent %d: %d windowed rules of 250, want %d", p, w, 250*p/100)
		}
	}
	if other := Rules(4, n, RulesConfig{Customers: 40, WindowedPercent: 50}); sameJSON(t, other, windowed) {
		t.Error("different seeds gave the same rules")
	}
}

func plainOnes(rs []*rule.Rule) []*rule.Rule {
	var out []*rule.Rule
	for _, r := range rs {
		if r.Plain() {
			out = append(out, r)
		}
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	return mustJSON(t, a) == mustJSON(t, b)
}
