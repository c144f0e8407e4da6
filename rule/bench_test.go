package rule_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"

	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// baseline is the original system's design, implemented faithfully: parse each event
// once with a general JSON library, then evaluate every rule's JSONPath in turn.
type baseline struct {
	rules []baselineRule
}

type baselineRule struct {
	r    *rule.Rule
	cond baselineCond
}

type baselineCond struct {
	all, any []baselineCond
	not      *baselineCond
	path     jp.Expr
	op       rule.Op
	operand  any
	re       *regexp.Regexp
}

func newBaseline(rules []*rule.Rule) *baseline {
	b := &baseline{}
	for _, r := range rules {
		b.rules = append(b.rules, baselineRule{r: r, cond: compileBaseline(r.When)})
	}
	return b
}

func compileBaseline(c *rule.Condition) baselineCond {
	switch {
	case c.All != nil || c.Any != nil:
		var out baselineCond
		for _, s := range c.All {
			out.all = append(out.all, compileBaseline(s))
		}
		for _, s := range c.Any {
			out.any = append(out.any, compileBaseline(s))
		}
		return out
	case c.Not != nil:
		n := compileBaseline(c.Not)
		return baselineCond{not: &n}
	}
	out := baselineCond{path: jp.MustParseString(c.Path), op: c.Op, operand: c.Operand()}
	if c.Op == rule.OpMatches {
		out.re = regexp.MustCompile(c.Operand().(string))
	}
	return out
}

func (b *baseline) match(customer string, data []byte, dst []*rule.Rule) ([]*rule.Rule, error) {
	doc, err := oj.Parse(data)
	if err != nil {
		return dst, err
	}
	for i := range b.rules {
		br := &b.rules[i]
		if br.r.AppliesTo(customer) && br.cond.eval(doc) {
			dst = append(dst, br.r)
		}
	}
	return dst, nil
}

func (c *baselineCond) eval(doc any) bool {
	switch {
	case c.all != nil:
		for i := range c.all {
			if !c.all[i].eval(doc) {
				return false
			}
		}
		return true
	case c.any != nil:
		for i := range c.any {
			if c.any[i].eval(doc) {
				return true
			}
		}
		return false
	case c.not != nil:
		return !c.not.eval(doc)
	}
	vals := c.path.Get(doc)
	if c.op == rule.OpExists {
		return len(vals) > 0
	}
	for _, v := range vals {
		if c.test(v) {
			return true
		}
	}
	return false
}

func num(x any) (float64, bool) {
	switch n := x.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func equalJSON(a, b any) bool {
	if x, ok := num(a); ok {
		y, ok := num(b)
		return ok && x == y
	}
	switch av := a.(type) {
	case string:
		bv, ok := b.(string)
		return ok && av == bv
	case bool:
		bv, ok := b.(bool)
		return ok && av == bv
	case nil:
		return b == nil
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !equalJSON(av[i], bv[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !equalJSON(x, y) {
				return false
			}
		}
		return true
	}
	return false
}

func (c *baselineCond) test(v any) bool {
	switch c.op {
	case rule.OpEq:
		return equalJSON(v, c.operand)
	case rule.OpNe:
		return !equalJSON(v, c.operand)
	case rule.OpLt, rule.OpLe, rule.OpGt, rule.OpGe:
		var cmp int
		if x, ok := num(v); ok {
			y, ok := num(c.operand)
			if !ok {
				return false
			}
			cmp = map[bool]int{true: -1, false: 0}[x < y] + map[bool]int{true: 1, false: 0}[x > y]
		} else if s, ok := v.(string); ok {
			t, ok := c.operand.(string)
			if !ok {
				return false
			}
			cmp = strings.Compare(s, t)
		} else {
			return false
		}
		switch c.op {
		case rule.OpLt:
			return cmp < 0
		case rule.OpLe:
			return cmp <= 0
		case rule.OpGt:
			return cmp > 0
		}
		return cmp >= 0
	case rule.OpIn:
		for _, m := range c.operand.([]any) {
			if equalJSON(v, m) {
				return true
			}
		}
		return false
	case rule.OpMatches:
		s, ok := v.(string)
		return ok && c.re.MatchString(s)
	case rule.OpContains:
		switch x := v.(type) {
		case string:
			t, ok := c.operand.(string)
			return ok && strings.Contains(x, t)
		case []any:
			for _, e := range x {
				if equalJSON(e, c.operand) {
					return true
				}
			}
		}
	}
	return false
}

const benchEvents = 2048

// benchWorkload is n rules and the events they are matched against. Two shapes:
//
//   - "tenant": rules grow with customers, as in a multi-tenant deployment: 50 global
//     rules, the rest spread over n/10 customers (at least 100), whose events they see.
//   - "global": a fifth of all rules are global, so every event faces n/5 of them; the
//     rules an event satisfies grow with n, and so must the work.
func benchWorkload(shape string, n int) ([]*rule.Rule, []workload.Event) {
	customers := 100
	cfg := workload.RulesConfig{Customers: customers}
	if shape == "tenant" {
		customers = max(100, n/10)
		cfg = workload.RulesConfig{Customers: customers, GlobalRules: min(50, n)}
	}
	rules := workload.Rules(42, n, cfg)
	gen := workload.New(42, workload.Config{Customers: customers})
	evs := make([]workload.Event, benchEvents)
	for i := range evs {
		evs[i] = gen.Next()
	}
	return rules, evs
}

// TestBaselineAgreesWithSet keeps the benchmark honest: the baseline decides exactly
// what the index decides, so the two measure the same work.
func TestBaselineAgreesWithSet(t *testing.T) {
	rules, evs := benchWorkload("global", 1000)
	set, err := rule.NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	base := newBaseline(rules)
	m, doc := set.NewMatcher(), jsonpath.NewDocument()
	total := 0
	for i, ev := range evs {
		if err := doc.Reset(ev.JSON); err != nil {
			t.Fatal(err)
		}
		got := keys(m.Match(ev.Customer, doc, nil))
		b, err := base.match(ev.Customer, ev.JSON, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := keys(b); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("event %d: index %v, baseline %v", i, got, want)
		}
		total += len(got)
	}
	if total == 0 {
		t.Fatal("no matches at all")
	}
	t.Logf("%d matches over %d events", total, len(evs))
}

// BenchmarkMatch is the evaluator's events/s at 1, 100, 1,000 and 10,000 active rules,
// in the two workload shapes of benchWorkload, against the baseline measured in the
// same run. Compare with:
//
//	go test -run '^$' -bench Match -benchmem ./rule
func BenchmarkMatch(b *testing.B) {
	for _, shape := range []string{"tenant", "global"} {
		for _, n := range []int{1, 100, 1000, 10000} {
			rules, evs := benchWorkload(shape, n)
			set, err := rule.NewSet(rules)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("shape=%s/rules=%d/impl=index", shape, n), func(b *testing.B) {
				m, doc := set.NewMatcher(), jsonpath.NewDocument()
				var dst []*rule.Rule
				matched := 0
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					ev := &evs[i%len(evs)]
					if err := doc.Reset(ev.JSON); err != nil {
						b.Fatal(err)
					}
					dst = m.Match(ev.Customer, doc, dst[:0])
					matched += len(dst)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(matched)/float64(b.N), "matches/event")
			})
			if n == 10000 && testing.Short() {
				continue // the baseline takes milliseconds per event here
			}
			base := newBaseline(rules)
			b.Run(fmt.Sprintf("shape=%s/rules=%d/impl=ojg-baseline", shape, n), func(b *testing.B) {
				var dst []*rule.Rule
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					ev := &evs[i%len(evs)]
					var err error
					if dst, err = base.match(ev.Customer, ev.JSON, dst[:0]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
