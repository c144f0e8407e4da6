package baseline

import (
	"regexp"
	"strings"

	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"

	"github.com/hindsightdev/hindsight/rule"
)

// Evaluator is the original system's design, implemented faithfully: parse each event
// once with a general JSON library, then evaluate every rule's JSONPath in turn.
type Evaluator struct {
	rules []compiledRule
}

type compiledRule struct {
	r    *rule.Rule
	cond condition
}

type condition struct {
	all, any []condition
	not      *condition
	path     jp.Expr
	op       rule.Op
	operand  any
	re       *regexp.Regexp
}

// NewEvaluator compiles rules, which must be valid (rule.Rule.Validate): an invalid path
// or pattern panics.
func NewEvaluator(rules []*rule.Rule) *Evaluator {
	e := &Evaluator{}
	for _, r := range rules {
		e.rules = append(e.rules, compiledRule{r: r, cond: compile(r.When)})
	}
	return e
}

func compile(c *rule.Condition) condition {
	switch {
	case c.All != nil || c.Any != nil:
		var out condition
		for _, s := range c.All {
			out.all = append(out.all, compile(s))
		}
		for _, s := range c.Any {
			out.any = append(out.any, compile(s))
		}
		return out
	case c.Not != nil:
		n := compile(c.Not)
		return condition{not: &n}
	}
	out := condition{path: jp.MustParseString(c.Path), op: c.Op, operand: c.Operand()}
	if c.Op == rule.OpMatches {
		out.re = regexp.MustCompile(c.Operand().(string))
	}
	return out
}

// Match appends to dst the rules, in the order given to NewEvaluator, that apply to
// customer and that the event data satisfies.
func (e *Evaluator) Match(customer string, data []byte, dst []*rule.Rule) ([]*rule.Rule, error) {
	doc, err := oj.Parse(data)
	if err != nil {
		return dst, err
	}
	for i := range e.rules {
		cr := &e.rules[i]
		if cr.r.AppliesTo(customer) && cr.cond.eval(doc) {
			dst = append(dst, cr.r)
		}
	}
	return dst, nil
}

func (c *condition) eval(doc any) bool {
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

func (c *condition) test(v any) bool {
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
