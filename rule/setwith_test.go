package rule_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// withModel is the rules a Set derived by With should hold, and that Set.
type withModel struct {
	rules map[rule.Key]*rule.Rule
	set   *rule.Set
}

// A Set derived by a random sequence of With calls (adds, replacements and removals over
// a few customer scopes and the global scope, some emptying a scope, some naming keys the
// Set does not hold, some introducing paths no other rule uses so that the path table is
// eventually rebuilt) matches exactly what NewSet over the same rules matches, for
// random documents and customers, and so does every earlier Set, still in use, that a
// later one was derived from.
func TestSetWithAgreesWithNewSet(t *testing.T) {
	seeds, steps := uint64(8), 250
	if testing.Short() {
		seeds, steps = 3, 120
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			pool := workload.Rules(seed, 200, workload.RulesConfig{Customers: 4, Nested: seed%2 == 0})
			for i := range 150 { // rules on paths of their own: garbage in the path table once removed
				pool = append(pool, mustRule(t, fmt.Sprintf(`{"id":"p","scope":"*","threshold":1,"when":{"any":[{"path":"$.extra.f%d","op":"==","value":%d},{"path":"$.type","op":"==","value":"login.failed"}]}}`, i, i%3)))
			}
			for _, when := range []string{ // orderings on strings and numbers, which workload rules lack
				`{"path":"$.actor.email","op":">=","value":"user3"}`,
				`{"path":"$.actor.email","op":"<","value":"user2"}`,
				`{"all":[{"path":"$.severity","op":"<","value":3},{"path":"$.risk.score","op":"<=","value":50}]}`,
				`{"any":[{"path":"$.risk.score","op":">","value":90},{"path":"$.actor.roles[*]","op":"in","value":["admin",["x"]]}]}`,
			} {
				pool = append(pool, mustRule(t, `{"id":"o","scope":"*","threshold":1,"when":`+when+`}`))
			}
			scopes := []string{rule.GlobalScope, workload.CustomerID(0), workload.CustomerID(1), workload.CustomerID(2), workload.CustomerID(3)}
			docs, customers := withDocs(t, seed)

			empty, err := rule.NewSet(nil)
			if err != nil {
				t.Fatal(err)
			}
			history := []withModel{{rules: map[rule.Key]*rule.Rule{}, set: empty}}
			for step := range steps {
				// Mostly derive from the newest Set, as live does; now and then from an
				// older one, whose family path table has since grown.
				from := history[len(history)-1]
				if rng.IntN(10) == 0 {
					from = history[rng.IntN(len(history))]
				}
				next := maps.Clone(from.rules)
				var put []*rule.Rule
				var remove []rule.Key
				touched := map[rule.Key]bool{}
				for range 1 + rng.IntN(4) {
					scope := scopes[rng.IntN(len(scopes))]
					k := rule.Key{Scope: scope, ID: fmt.Sprintf("r%d", rng.IntN(12))}
					if touched[k] {
						continue
					}
					touched[k] = true
					if rng.IntN(3) == 0 {
						remove = append(remove, k) // absent keys included: ignored
						delete(next, k)
						continue
					}
					r := *pool[rng.IntN(len(pool))]
					r.Scope, r.ID = k.Scope, k.ID
					put = append(put, &r)
					next[k] = &r
				}
				if rng.IntN(15) == 0 { // empty a scope at once
					scope := scopes[rng.IntN(len(scopes))]
					for k := range next {
						if k.Scope == scope && !touched[k] {
							remove = append(remove, k)
							delete(next, k)
						}
					}
				}
				set, err := from.set.With(put, remove)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				history = append(history, withModel{rules: next, set: set})
				checkSet(t, fmt.Sprintf("step %d", step), history[len(history)-1], docs, customers)
				if step%25 == 0 {
					for i, h := range history {
						checkSet(t, fmt.Sprintf("step %d, earlier Set %d", step, i), h, docs, customers)
					}
				}
			}
		})
	}
}

// withDocs returns documents and customers to match: workload events (whose customers own
// the generated rules, and others who own none) and documents with the extra paths.
func withDocs(t *testing.T, seed uint64) ([]*jsonpath.Document, []string) {
	t.Helper()
	gen := workload.New(seed, workload.Config{Customers: 6})
	var docs []*jsonpath.Document
	var customers []string
	add := func(customer string, js []byte) {
		d := jsonpath.NewDocument()
		if err := d.Reset(js); err != nil {
			t.Fatal(err)
		}
		docs, customers = append(docs, d), append(customers, customer)
	}
	for range 120 {
		ev := gen.NextShared()
		add(ev.Customer, ev.JSON)
	}
	for i := range 20 {
		add(workload.CustomerID(i%5), fmt.Appendf(nil, `{"type":"x","extra":{"f%d":%d,"f%d":0}}`, i, i%3, i+20))
	}
	add("*", []byte(`{"type":"login.failed"}`))
	return docs, customers
}

func checkSet(t *testing.T, what string, h withModel, docs []*jsonpath.Document, customers []string) {
	t.Helper()
	rules := slices.Collect(maps.Values(h.rules))
	want, err := rule.NewSet(rules)
	if err != nil {
		t.Fatalf("%s: NewSet: %v", what, err)
	}
	if h.set.Len() != want.Len() {
		t.Fatalf("%s: Len %d, want %d", what, h.set.Len(), want.Len())
	}
	if got, exp := keys(h.set.Rules()), keys(want.Rules()); !slices.Equal(got, exp) {
		t.Fatalf("%s: Rules\n got  %v\n want %v", what, got, exp)
	}
	if !slices.IsSortedFunc(h.set.Rules(), func(a, b *rule.Rule) int { return compareKeys(a.Key(), b.Key()) }) {
		t.Fatalf("%s: Rules not in key order", what)
	}
	for k, r := range h.rules {
		if got, ok := h.set.Get(k); !ok || got != r {
			t.Fatalf("%s: Get(%s) = %v, %v", what, k, got, ok)
		}
	}
	if _, ok := h.set.Get(rule.Key{Scope: "c-0000", ID: "absent"}); ok {
		t.Fatalf("%s: Get of an absent key found a rule", what)
	}
	if h.set.DistinctPaths() != want.DistinctPaths() {
		t.Fatalf("%s: DistinctPaths %d, want %d", what, h.set.DistinctPaths(), want.DistinctPaths())
	}
	m, wm := h.set.NewMatcher(), want.NewMatcher()
	for i, doc := range docs {
		got, exp := keys(m.Match(customers[i], doc, nil)), keys(wm.Match(customers[i], doc, nil))
		if !slices.Equal(got, exp) {
			t.Fatalf("%s: document %d (customer %s):\n With   %v\n NewSet %v", what, i, customers[i], got, exp)
		}
		if o := oracle(rules, customers[i], doc); !slices.Equal(got, o) {
			t.Fatalf("%s: document %d (customer %s):\n With   %v\n oracle %v", what, i, customers[i], got, o)
		}
	}
}

func compareKeys(a, b rule.Key) int {
	if a.Scope != b.Scope {
		if a.Scope < b.Scope {
			return -1
		}
		return 1
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// With refuses what NewSet refuses, and a key changed twice, and leaves the Set it was
// called on as it was.
func TestSetWithErrors(t *testing.T) {
	a := mustRule(t, `{"id":"a","scope":"c-1","threshold":1,"when":{"path":"$.type","op":"==","value":"x"}}`)
	s, err := rule.NewSet([]*rule.Rule{a})
	if err != nil {
		t.Fatal(err)
	}
	a2 := mustRule(t, `{"id":"a","scope":"c-1","version":2,"threshold":1,"when":{"path":"$.type"}}`)
	for name, change := range map[string]func() (*rule.Set, error){
		"put twice":       func() (*rule.Set, error) { return s.With([]*rule.Rule{a2, a2}, nil) },
		"put and removed": func() (*rule.Set, error) { return s.With([]*rule.Rule{a2}, []rule.Key{a.Key()}) },
		"removed twice":   func() (*rule.Set, error) { return s.With(nil, []rule.Key{a.Key(), a.Key()}) },
		"not validated": func() (*rule.Set, error) {
			return s.With([]*rule.Rule{{ID: "b", Scope: "c-1", Threshold: rule.AtLeast(1)}}, nil)
		},
		"global invalid": func() (*rule.Set, error) {
			return s.With([]*rule.Rule{{ID: "b", Scope: "*", Threshold: rule.AtLeast(1)}}, nil)
		},
		"leaf unvalidated": func() (*rule.Set, error) {
			return s.With([]*rule.Rule{{ID: "b", Scope: "c-2", When: &rule.Condition{Path: "$.a"}}}, nil)
		},
	} {
		if got, err := change(); err == nil {
			t.Errorf("%s: With = %d rules, want an error", name, got.Len())
		}
	}
	if r, ok := s.Get(a.Key()); !ok || r != a || s.Len() != 1 {
		t.Fatalf("the Set changed: Get = %v, %v; Len %d", r, ok, s.Len())
	}
}

// Sets in use keep matching, untouched, while others are derived from them and add
// paths to the table they share: the race detector checks the sharing, the comparison
// that nothing leaked into the older Set.
func TestSetWithWhileMatching(t *testing.T) {
	rules := workload.Rules(7, 300, workload.RulesConfig{Customers: 4})
	base, err := rule.NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	docs, customers := withDocs(t, 7)
	ownDocs, _ := withDocs(t, 7) // a Document belongs to one goroutine
	want := make([][]string, len(docs))
	for i, doc := range docs {
		want[i] = keys(base.Match(customers[i], doc, nil))
	}
	added := make([]*rule.Rule, 400) // each on a path of its own
	for i := range added {
		added[i] = mustRule(t, fmt.Sprintf(`{"id":"w%d","scope":"%s","threshold":1,"when":{"path":"$.extra.f%d","op":"==","value":1}}`,
			i%50, workload.CustomerID(i%5), i))
	}
	done := make(chan struct{})
	errs := make(chan error, 2)
	go func() {
		s := base
		for i, r := range added {
			from := s
			if i%3 == 0 {
				from = base // siblings: both append to the shared path table
			}
			next, err := from.With([]*rule.Rule{r}, nil)
			if err != nil {
				errs <- err
				return
			}
			s = next
			_ = s.Match(customers[i%len(customers)], ownDocs[i%len(ownDocs)], nil)
		}
		errs <- nil
		close(done)
	}()
	go func() {
		m := base.NewMatcher()
		for n := 0; ; n++ {
			for i, doc := range docs {
				var got []string
				if n%2 == 0 {
					got = keys(m.Match(customers[i], doc, nil))
				} else {
					got = keys(base.Match(customers[i], doc, nil))
				}
				if !slices.Equal(got, want[i]) {
					errs <- fmt.Errorf("document %d: the Set in use now matches %v, not %v", i, got, want[i])
					return
				}
			}
			select {
			case <-done:
				errs <- nil
				return
			default:
			}
		}
	}()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
