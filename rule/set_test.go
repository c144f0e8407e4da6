package rule_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// oracle is matching without an index: every rule, in turn, on its own.
func oracle(rules []*rule.Rule, customer string, doc *jsonpath.Document) []string {
	var out []string
	for _, r := range rules {
		if r.AppliesTo(customer) && r.Matches(doc) {
			out = append(out, r.Key().String())
		}
	}
	slices.Sort(out)
	return out
}

func keys(rs []*rule.Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key().String()
	}
	slices.Sort(out)
	return out
}

// The index must agree with the oracle on every event, for random rule sets with
// global and customer rules and nested any/not conditions. Besides the index, this
// is the guard against the original system's leak: a customer's rule matching another
// customer's events would show up as a rule the oracle does not list.
func TestSetAgreesWithOracle(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rules := workload.Rules(seed, 300, workload.RulesConfig{Customers: 20, Nested: seed%2 == 0})
			set, err := rule.NewSet(rules)
			if err != nil {
				t.Fatal(err)
			}
			m := set.NewMatcher()
			gen := workload.New(seed, workload.Config{Customers: 20})
			doc := jsonpath.NewDocument()
			matched := 0
			for i := range 1500 {
				ev := gen.NextShared()
				if err := doc.Reset(ev.JSON); err != nil {
					t.Fatal(err)
				}
				got := keys(m.Match(ev.Customer, doc, nil))
				want := oracle(rules, ev.Customer, doc)
				if !slices.Equal(got, want) {
					t.Fatalf("event %d (customer %s):\n index  %v\n oracle %v\n%s", i, ev.Customer, got, want, ev.JSON)
				}
				matched += len(got)
			}
			if matched == 0 {
				t.Fatal("no event matched any rule: the test would not notice a broken index")
			}
		})
	}
}

func mustRule(t *testing.T, js string) *rule.Rule {
	t.Helper()
	r, err := rule.ParseRule([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The original system's customer-specific rule matched every customer's events.
func TestCustomerRuleNeverMatchesOtherCustomers(t *testing.T) {
	own := mustRule(t, `{"id":"r","scope":"c-1","threshold":1,"when":{"path":"$.type","op":"==","value":"login.failed"}}`)
	always := mustRule(t, `{"id":"always","scope":"c-1","threshold":1,"when":{"not":{"path":"$.nothing"}}}`)
	glob := mustRule(t, `{"id":"g","scope":"*","threshold":1,"when":{"path":"$.type","op":"==","value":"login.failed"}}`)
	set, err := rule.NewSet([]*rule.Rule{own, always, glob})
	if err != nil {
		t.Fatal(err)
	}
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(`{"type":"login.failed"}`)); err != nil {
		t.Fatal(err)
	}
	if got := keys(set.Match("c-1", doc, nil)); !slices.Equal(got, []string{"*/g", "c-1/always", "c-1/r"}) {
		t.Fatalf("owner's event matched %v", got)
	}
	for _, other := range []string{"c-2", "c-10", "", "*", "c-1 "} {
		if got := keys(set.Match(other, doc, nil)); !slices.Equal(got, []string{"*/g"}) {
			t.Fatalf("customer %q matched %v: a customer's rule leaked to another customer", other, got)
		}
	}
}

// The original system's replace removed the wrong rules.
func TestWithReplacesOnlyThatRule(t *testing.T) {
	a1 := mustRule(t, `{"id":"a","scope":"*","version":1,"threshold":1,"when":{"path":"$.x"}}`)
	aC := mustRule(t, `{"id":"a","scope":"c-1","version":1,"threshold":1,"when":{"path":"$.x"}}`)
	b := mustRule(t, `{"id":"b","scope":"*","version":1,"threshold":1,"when":{"path":"$.x"}}`)
	s, err := rule.NewSet([]*rule.Rule{a1, aC, b})
	if err != nil {
		t.Fatal(err)
	}
	a2 := mustRule(t, `{"id":"a","scope":"*","version":2,"threshold":1,"when":{"path":"$.y"}}`)
	s2, err := s.With(a2)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(s2.Rules()); !slices.Equal(got, []string{"*/a", "*/b", "c-1/a"}) {
		t.Fatalf("after replacing */a: %v", got)
	}
	if r, _ := s2.Get(rule.Key{Scope: "*", ID: "a"}); r.Version != 2 {
		t.Fatalf("*/a is version %d", r.Version)
	}
	if r, _ := s2.Get(rule.Key{Scope: "c-1", ID: "a"}); r != aC {
		t.Fatal("c-1/a changed when */a was replaced")
	}
	if _, err := s2.With(a1); !errors.Is(err, rule.ErrStale) {
		t.Fatalf("older version: err %v, want ErrStale", err)
	}
	s3, ok := s2.Without(rule.Key{Scope: "*", ID: "a"})
	if !ok {
		t.Fatal("Without did not find */a")
	}
	if got := keys(s3.Rules()); !slices.Equal(got, []string{"*/b", "c-1/a"}) {
		t.Fatalf("after deleting */a: %v", got)
	}
	if _, ok := s3.Without(rule.Key{Scope: "*", ID: "a"}); ok {
		t.Fatal("deleting twice reported a deletion")
	}
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(`{"y":1}`)); err != nil {
		t.Fatal(err)
	}
	if got := keys(s2.Match("c-1", doc, nil)); !slices.Equal(got, []string{"*/a"}) {
		t.Fatalf("version 2 condition not in force: %v", got)
	}
}
