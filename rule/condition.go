package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// Op is a condition's operator.
type Op string

// The operators; see the package comment for their meaning.
const (
	OpExists   Op = "exists"
	OpEq       Op = "=="
	OpNe       Op = "!="
	OpLt       Op = "<"
	OpLe       Op = "<="
	OpGt       Op = ">"
	OpGe       Op = ">="
	OpIn       Op = "in"
	OpMatches  Op = "matches"
	OpContains Op = "contains"
)

var knownOps = map[Op]bool{OpExists: true, OpEq: true, OpNe: true, OpLt: true, OpLe: true,
	OpGt: true, OpGe: true, OpIn: true, OpMatches: true, OpContains: true}

// Condition is one test ({path, op, value}) or a combination (all, any, not). Exactly one
// form is set. The zero Op means exists.
type Condition struct {
	All []*Condition `json:"all,omitempty"`
	Any []*Condition `json:"any,omitempty"`
	Not *Condition   `json:"not,omitempty"`

	Path string `json:"path,omitempty"`
	Op   Op     `json:"op,omitempty"`
	// Value is the JSON text of the operand; absent for exists.
	Value json.RawMessage `json:"value,omitempty"`

	// compiled by validate: the parts of a leaf that evaluation needs.
	leaf *leaf
}

// Leaf reports whether c is a single test rather than a combination.
func (c *Condition) Leaf() bool { return c.All == nil && c.Any == nil && c.Not == nil }

// CompiledPath is the parsed path of a leaf of a validated rule (nil otherwise). Backfill
// compiles SQL from it.
func (c *Condition) CompiledPath() *jsonpath.Path {
	if c.leaf == nil {
		return nil
	}
	return c.leaf.path
}

// Operand is the decoded value of a leaf of a validated rule.
func (c *Condition) Operand() any {
	if c.leaf == nil {
		return nil
	}
	return c.leaf.operand
}

func (c *Condition) validate(field string, errs *ValidationError) {
	forms := 0
	if c.All != nil {
		forms++
	}
	if c.Any != nil {
		forms++
	}
	if c.Not != nil {
		forms++
	}
	hasLeaf := c.Path != "" || c.Op != "" || len(c.Value) > 0
	if hasLeaf {
		forms++
	}
	if forms != 1 {
		errs.add(field, 0, "must be exactly one of {path, op, value}, {all: […]}, {any: […]} or {not: …}")
		return
	}
	switch {
	case c.All != nil:
		c.validateList(field+".all", c.All, errs)
	case c.Any != nil:
		c.validateList(field+".any", c.Any, errs)
	case c.Not != nil:
		c.Not.validate(field+".not", errs)
	default:
		l, err := compileLeaf(c.Path, c.Op, c.Value)
		if err != nil {
			var pe *leafError
			if errors.As(err, &pe) {
				errs.add(field+"."+pe.field, pe.column, pe.msg)
			} else {
				errs.add(field, 0, err.Error())
			}
			return
		}
		if c.Op == "" {
			c.Op = OpExists
		}
		c.leaf = l
	}
}

func (c *Condition) validateList(field string, list []*Condition, errs *ValidationError) {
	if len(list) == 0 {
		errs.add(field, 0, "needs at least one condition")
	}
	for i, sub := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if sub == nil {
			errs.add(f, 0, "is null")
			continue
		}
		sub.validate(f, errs)
	}
}

// leaf is a compiled test: a path, an operator and its operand.
type leaf struct {
	path    *jsonpath.Path
	op      Op
	operand any
	value   jsonpath.Value   // ==, !=, <, <=, >, >=, contains
	list    []jsonpath.Value // in
	re      *regexp.Regexp   // matches
	str     string           // contains, when the operand is a string
	isStr   bool
	// key identifies equal tests across rules: path, op and operand in canonical form.
	key string
}

type leafError struct {
	field  string
	column int
	msg    string
}

func (e *leafError) Error() string { return e.field + ": " + e.msg }

func compileLeaf(pathText string, op Op, raw json.RawMessage) (*leaf, error) {
	if pathText == "" {
		return nil, &leafError{field: "path", msg: "is required"}
	}
	p, err := jsonpath.Parse(pathText)
	if err != nil {
		var se *jsonpath.SyntaxError
		if errors.As(err, &se) {
			return nil, &leafError{field: "path", column: se.Column(), msg: se.Msg + " in " + fmt.Sprintf("%q", pathText)}
		}
		return nil, &leafError{field: "path", msg: err.Error()}
	}
	if op == "" {
		op = OpExists
	}
	if !knownOps[op] {
		return nil, &leafError{field: "op", msg: fmt.Sprintf("unknown operator %q; one of exists, ==, !=, <, <=, >, >=, in, matches, contains", op)}
	}
	l := &leaf{path: p, op: op}
	if op == OpExists {
		if len(raw) > 0 {
			return nil, &leafError{field: "value", msg: "exists takes no value"}
		}
		l.key = p.String() + "\x00" + string(op)
		return l, nil
	}
	if len(raw) == 0 {
		return nil, &leafError{field: "value", msg: fmt.Sprintf("operator %s needs a value", op)}
	}
	var operand any
	if err := json.Unmarshal(raw, &operand); err != nil {
		return nil, &leafError{field: "value", msg: "is not JSON: " + err.Error()}
	}
	l.operand = operand
	canon, _ := json.Marshal(operand) // sorted keys: equal operands give equal keys
	l.key = p.String() + "\x00" + string(op) + "\x00" + string(canon)
	switch op {
	case OpIn:
		list, ok := operand.([]any)
		if !ok {
			return nil, &leafError{field: "value", msg: "in needs a list of values"}
		}
		for _, x := range list {
			v, err := jsonpath.ValueOf(x)
			if err != nil {
				return nil, &leafError{field: "value", msg: err.Error()}
			}
			l.list = append(l.list, v)
		}
	case OpMatches:
		s, ok := operand.(string)
		if !ok {
			return nil, &leafError{field: "value", msg: "matches needs a regular expression string"}
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, &leafError{field: "value", msg: "invalid RE2 pattern: " + err.Error()}
		}
		l.re = re
	case OpLt, OpLe, OpGt, OpGe:
		switch operand.(type) {
		case float64, string:
		default:
			return nil, &leafError{field: "value", msg: fmt.Sprintf("%s compares numbers or strings, not %s", op, kindName(operand))}
		}
		fallthrough
	default: // ==, !=, contains, and the orderings above
		v, err := jsonpath.ValueOf(operand)
		if err != nil {
			return nil, &leafError{field: "value", msg: err.Error()}
		}
		l.value = v
		l.str, l.isStr = operand.(string)
	}
	return l, nil
}

func kindName(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", x)
}

// test decides the leaf over the nodes its path selected.
func (l *leaf) test(vals []jsonpath.Value) bool {
	if l.op == OpExists {
		return len(vals) > 0
	}
	for _, v := range vals {
		if l.testOne(v) {
			return true
		}
	}
	return false
}

func (l *leaf) testOne(v jsonpath.Value) bool {
	switch l.op {
	case OpEq:
		return jsonpath.Equal(v, l.value)
	case OpNe:
		return !jsonpath.Equal(v, l.value)
	case OpLt, OpLe, OpGt, OpGe:
		c, ok := jsonpath.Compare(v, l.value)
		if !ok {
			return false
		}
		switch l.op {
		case OpLt:
			return c < 0
		case OpLe:
			return c <= 0
		case OpGt:
			return c > 0
		default:
			return c >= 0
		}
	case OpIn:
		for _, m := range l.list {
			if jsonpath.Equal(v, m) {
				return true
			}
		}
		return false
	case OpMatches:
		return v.Kind() == jsonpath.KindString && l.re.MatchString(v.Str())
	case OpContains:
		switch v.Kind() {
		case jsonpath.KindString:
			return l.isStr && strings.Contains(v.Str(), l.str)
		case jsonpath.KindArray:
			found := false
			v.Elems(func(e jsonpath.Value) bool {
				found = jsonpath.Equal(e, l.value)
				return !found
			})
			return found
		}
	}
	return false
}
