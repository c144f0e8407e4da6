package rule_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hindsightdev/hindsight/internal/oddjson"
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

func mustRule(t testing.TB, js string) *rule.Rule {
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

// Past strScanMax string values or eqScanMax other values on one path the index looks
// equality up in tables, strings in one and other scalars in another: every kind of
// value still finds its rules and only them, -0 included.
func TestEqualityGroupPastScan(t *testing.T) {
	values := []string{`"a"`, `"b"`, `"1"`, `1`, `2`, `0`, `true`, `false`, `null`, `"true"`, `"null"`, `""`, `1.5`, `"é"`,
		`3.25`, `-7`, `1e3`}
	for i := range 12 {
		values = append(values, fmt.Sprintf(`"s%d"`, i))
	}
	var rules []*rule.Rule
	for i, v := range values {
		rules = append(rules, mustRule(t, fmt.Sprintf(`{"id":"r%d","scope":"*","threshold":1,"when":{"path":"$.v","op":"==","value":%s}}`, i, v)))
	}
	set, err := rule.NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	m := set.NewMatcher()
	doc := jsonpath.NewDocument()
	for _, ev := range append(slices.Clone(values), `-0`, `"c"`, `3`, `[1]`, `{"x":1}`, `"\u0061"`) {
		js := `{"v":` + ev + `}`
		if err := doc.Reset([]byte(js)); err != nil {
			t.Fatal(err)
		}
		got, want := keys(m.Match("c", doc, nil)), oracle(rules, "c", doc)
		if !slices.Equal(got, want) {
			t.Errorf("%s: index %v, oracle %v", js, got, want)
		}
		if wantOne := slices.Contains(values, ev) || ev == `-0` || ev == `"\u0061"`; wantOne != (len(got) == 1) {
			t.Errorf("%s: matched %v", js, got)
		}
	}
}

// Up to strScanMax string values on one path are found by comparing lengths and first
// eight bytes as one word before the rest: strings that share those (a prefix, zero
// bytes, the same length) must still find their own rules only, in the scan and in the
// table past it.
func TestEqualityGroupStringProbes(t *testing.T) {
	values := []string{`"abcdefgh"`, `"abcdefghi"`, `"abcdefghj"`, `"abcdefg"`, `"abcdefg\u0000"`, `"abcdefgh\u0000"`,
		`""`, `"\u0000"`, `"é"`, `"éé"`, `"login.succeeded"`, `"login.succeedeD"`, `"a"`, `"ab"`}
	events := append(slices.Clone(values), `"abcdefgi"`, `"abcdefghk"`, `"abcdef"`, `"login.succeede"`, `"\u0000\u0000"`, `"b"`, `"abcdefghij"`)
	for _, fillers := range []int{0, 20} {
		var rules []*rule.Rule
		for i, v := range values {
			rules = append(rules, mustRule(t, fmt.Sprintf(`{"id":"r%d","scope":"*","threshold":1,"when":{"path":"$.v","op":"==","value":%s}}`, i, v)))
		}
		for i := range fillers {
			rules = append(rules, mustRule(t, fmt.Sprintf(`{"id":"f%d","scope":"*","threshold":1,"when":{"path":"$.v","op":"==","value":"filler-%d"}}`, i, i)))
		}
		set, err := rule.NewSet(rules)
		if err != nil {
			t.Fatal(err)
		}
		m := set.NewMatcher()
		doc := jsonpath.NewDocument()
		for _, ev := range events {
			js := `{"v":` + ev + `}`
			if err := doc.Reset([]byte(js)); err != nil {
				t.Fatal(err)
			}
			got, want := keys(m.Match("c", doc, nil)), oracle(rules, "c", doc)
			if !slices.Equal(got, want) {
				t.Errorf("%d fillers, %s: index %v, oracle %v", fillers, js, got, want)
			}
			if wantOne := slices.Contains(values, ev); wantOne != (len(got) == 1) {
				t.Errorf("%d fillers, %s: matched %v", fillers, js, got)
			}
		}
	}
}

// The index keeps one ascending list of bounds per ordering operator and walks it from
// the end where the operator holds, stopping at the first bound where it does not:
// from the top for < and <=, from the bottom for > and >=. A value between two bounds
// must find every rule whose bound it satisfies, whichever end that is.
func TestRangeBoundsAroundTheValue(t *testing.T) {
	bounds := []string{`10`, `20`, `"m"`, `"t"`}
	var rules []*rule.Rule
	for _, op := range [][2]string{{"lt", "<"}, {"le", "<="}, {"gt", ">"}, {"ge", ">="}} {
		for i, b := range bounds {
			rules = append(rules, mustRule(t, fmt.Sprintf(`{"id":"%s%d","scope":"*","threshold":1,"when":{"path":"$.v","op":%q,"value":%s}}`, op[0], i, op[1], b)))
		}
	}
	set, err := rule.NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	m := set.NewMatcher()
	doc := jsonpath.NewDocument()
	tests := []struct {
		v    string
		want []string // rule ids, sorted
	}{
		{`15`, []string{"ge0", "gt0", "le1", "lt1"}},
		{`20`, []string{"ge0", "ge1", "gt0", "le1"}},
		{`"p"`, []string{"ge2", "gt2", "le3", "lt3"}},
		{`"m"`, []string{"ge2", "le2", "le3", "lt3"}},
	}
	for _, tt := range tests {
		js := `{"v":` + tt.v + `}`
		if err := doc.Reset([]byte(js)); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range m.Match("c", doc, nil) {
			got = append(got, r.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: matched %v, want %v", js, got, tt.want)
		}
		if want := oracle(rules, "c", doc); !slices.Equal(keys(m.Match("c", doc, nil)), want) {
			t.Errorf("%s: index disagrees with the oracle %v", js, want)
		}
	}
}

// FuzzSetAgreesWithOracle holds the index to each rule alone on the payloads JSON
// readers disagree on (internal/oddjson): the conditions aimed at them, as global
// rules and as rules of customer c-1, on events of c-1 and c-2. TestSetAgreesWithOracle
// covers many rules on well-formed events; this covers the odd values the index's
// equality groups, ranges and literals are keyed by (-0, 1e400, escapes, duplicate
// names, lone surrogates).
func FuzzSetAgreesWithOracle(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, p := range oddjson.Payloads(r, 400) {
		f.Add([]byte(p))
	}
	var rules []*rule.Rule
	for i, c := range oddjson.Conditions {
		for _, scope := range []string{"*", "c-1"} {
			rules = append(rules, mustRule(f, fmt.Sprintf(`{"id":"o-%d","scope":%q,"version":1,"threshold":1,"when":%s}`, i, scope, c)))
		}
	}
	set, err := rule.NewSet(rules)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		doc := jsonpath.NewDocument()
		if doc.Reset(payload) != nil {
			return // dead-lettered: no rule sees it
		}
		m := set.NewMatcher()
		for _, customer := range []string{"c-1", "c-2"} {
			got := keys(m.Match(customer, doc, nil))
			if want := oracle(rules, customer, doc); !slices.Equal(got, want) {
				t.Fatalf("payload %q, customer %s:\n index  %v\n oracle %v", payload, customer, got, want)
			}
		}
	})
}
