package rule

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
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

// condValidator checks a condition tree against the limits in force, counting the
// leaves seen so far across the whole rule.
type condValidator struct {
	lim    Limits
	errs   *ValidationError
	leaves int
	// overLeaves is set once the condition count is reported, so that a rule with
	// many more tests gets one problem, not one per test beyond the limit.
	overLeaves bool
}

func (v *condValidator) validate(c *Condition, field string, depth int) {
	errs := v.errs
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
	if !hasLeaf && depth >= v.lim.MaxDepth {
		// Not descending further also bounds the work (and the length of the field
		// names) for a hostile rule thousands of levels deep.
		errs.addLimit(field, 0, LimitDepth, fmt.Sprintf("nesting deeper than %d levels of all/any/not (limit %s)", v.lim.MaxDepth, LimitDepth))
		return
	}
	switch {
	case c.All != nil:
		v.validateList(field+".all", c.All, depth+1)
	case c.Any != nil:
		v.validateList(field+".any", c.Any, depth+1)
	case c.Not != nil:
		v.validate(c.Not, field+".not", depth+1)
	default:
		v.leaves++
		if v.leaves > v.lim.MaxConditions {
			if !v.overLeaves {
				v.overLeaves = true
				errs.addLimit(field, 0, LimitConditions, fmt.Sprintf("is test #%d; a rule has at most %d (limit %s)", v.leaves, v.lim.MaxConditions, LimitConditions))
			}
			return // compiling more tests would only spend what the limit saves
		}
		l, err := compileLeaf(c.Path, c.Op, c.Value, v.lim)
		if err != nil {
			var pe *leafError
			if errors.As(err, &pe) {
				errs.addLimit(field+"."+pe.field, pe.column, pe.limit, pe.msg)
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

func (v *condValidator) validateList(field string, list []*Condition, depth int) {
	if len(list) == 0 {
		v.errs.add(field, 0, "needs at least one condition")
	}
	for i, sub := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if sub == nil {
			v.errs.add(f, 0, "is null")
			continue
		}
		v.validate(sub, f, depth)
	}
}

// leaf is a compiled test: a path, an operator and its operand.
type leaf struct {
	path    *jsonpath.Path
	op      Op
	operand any
	value   jsonpath.Value   // ==, !=, <, <=, >, >=, contains
	list    []jsonpath.Value // in
	re      *regexp.Regexp   // matches, unless the pattern is a literal (lit)
	litKind LiteralKind      // matches: how the literal decides, NotLiteral if re does
	lit     string
	str     string // contains, when the operand is a string
	isStr   bool
	// num is a number operand as float64, so that an ordering test does not parse the
	// constant again for every value it meets (it is the value's own Num exactly:
	// ValueOf writes the shortest text that reads back as it).
	num   float64
	isNum bool
	// key identifies equal tests across rules: path, op and operand in canonical form.
	key string
}

type leafError struct {
	field  string
	column int
	limit  string // the limit reached (Problem.Limit), if that is the problem
	msg    string
}

func (e *leafError) Error() string { return e.field + ": " + e.msg }

// compilePath parses a rule's JSONPath under lim's path limits; problems are
// *leafError of the field "path".
func compilePath(pathText string, lim Limits) (*jsonpath.Path, error) {
	if pathText == "" {
		return nil, &leafError{field: "path", msg: "is required"}
	}
	if len(pathText) > lim.MaxPathBytes {
		// Checked before parsing: the column is the first byte beyond the limit.
		return nil, &leafError{field: "path", column: lim.MaxPathBytes + 1, limit: LimitPathBytes,
			msg: overLimit("path is", len(pathText), "bytes", lim.MaxPathBytes, LimitPathBytes)}
	}
	p, err := jsonpath.Parse(pathText)
	if err != nil {
		var se *jsonpath.SyntaxError
		if errors.As(err, &se) {
			return nil, &leafError{field: "path", column: se.Column(), msg: se.Msg + " in " + fmt.Sprintf("%q", pathText)}
		}
		return nil, &leafError{field: "path", msg: err.Error()}
	}
	if n := pathSegments(p); n > lim.MaxPathSegments {
		return nil, &leafError{field: "path", limit: LimitPathSegments, msg: overLimit("path has", n, "segments (counting those of its filters' queries)", lim.MaxPathSegments, LimitPathSegments)}
	}
	return p, nil
}

func compileLeaf(pathText string, op Op, raw json.RawMessage, lim Limits) (*leaf, error) {
	if pathText == "" {
		return nil, &leafError{field: "path", msg: "is required"}
	}
	p, err := compilePath(pathText, lim)
	if err != nil {
		return nil, err
	}
	if op == "" {
		op = OpExists
	}
	if !knownOps[op] {
		return nil, &leafError{field: "op", msg: fmt.Sprintf("unknown operator %s; one of exists, ==, !=, <, <=, >, >=, in, matches, contains", quoted(string(op)))}
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
	if msg := inexactInteger(op, raw); msg != "" && op != OpMatches {
		return nil, &leafError{field: "value", msg: msg}
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
		if len(list) > lim.MaxInList {
			return nil, &leafError{field: "value", limit: LimitInList, msg: overLimit("in list has", len(list), "members", lim.MaxInList, LimitInList)}
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
		if err := checkRegexSize(s, lim); err != nil {
			return nil, err
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, &leafError{field: "value", msg: "invalid RE2 pattern: " + err.Error()}
		}
		l.re = re
		l.litKind, l.lit = LiteralPattern(s)
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
		l.num, l.isNum = operand.(float64)
	}
	return l, nil
}

// inexactInteger is the problem of an operand (a member of an in list: each) holding an
// integer, written without fraction or exponent, beyond MaxSafeInteger: it is compared
// as a float64, which rounds it to a neighbour, so a rule on id 9007199254740993
// matched id 9007199254740992 and != called them equal. A number written 1e300 or
// 2.5e16 claims no exactness and is kept; "" when there is no such integer.
func inexactInteger(op Op, raw json.RawMessage) string {
	const advice = "; compare such ids as strings (write the value as a string, in the events and in the rule)"
	var members []json.RawMessage
	if op == OpIn && json.Unmarshal(raw, &members) == nil {
		for i, m := range members {
			if num := integerBeyondSafe(m); num != "" {
				return fmt.Sprintf("member %d of the in list: %s%s", i, beyondSafe(num), advice)
			}
		}
		return ""
	}
	if num := integerBeyondSafe(raw); num != "" {
		return beyondSafe(num) + advice
	}
	return ""
}

// integerBeyondSafe is the text of the first number in the JSON text raw, anywhere in
// it, written as an integer (no fraction, no exponent) of magnitude beyond
// MaxSafeInteger; "" if there is none.
func integerBeyondSafe(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		n, ok := tok.(json.Number)
		if !ok || strings.ContainsAny(string(n), ".eE") {
			continue
		}
		// JSON writes no leading zeros: the longer digit string is the larger number.
		digits, limit := strings.TrimPrefix(string(n), "-"), strconv.FormatInt(MaxSafeInteger, 10)
		if len(digits) > len(limit) || len(digits) == len(limit) && digits > limit {
			return string(n)
		}
	}
}

// checkRegexSize refuses a pattern beyond the regex limits before it is compiled. A
// pattern that does not parse is left to regexp.Compile, whose message is the one to
// show.
func checkRegexSize(s string, lim Limits) error {
	if len(s) > lim.MaxRegexBytes {
		return &leafError{field: "value", limit: LimitRegexBytes, msg: overLimit("pattern is", len(s), "bytes", lim.MaxRegexBytes, LimitRegexBytes)}
	}
	re, err := syntax.Parse(s, syntax.Perl)
	if err != nil {
		return nil
	}
	if n := regexProgramSize(re, int64(lim.MaxRegexProgram)); n > int64(lim.MaxRegexProgram) {
		return &leafError{field: "value", limit: LimitRegexProgram, msg: fmt.Sprintf("pattern compiles to more than %d RE2 instructions (limit %s); shorten it or bound its repetition", lim.MaxRegexProgram, LimitRegexProgram)}
	}
	return nil
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
		var c int
		if l.isNum {
			if v.Kind() != jsonpath.KindNumber {
				return false
			}
			c = cmp.Compare(v.Num(), l.num)
		} else {
			var ok bool
			if c, ok = jsonpath.Compare(v, l.value); !ok {
				return false
			}
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
		if v.Kind() != jsonpath.KindString {
			return false
		}
		if l.litKind != NotLiteral {
			return l.litKind.Match(v.Str(), l.lit)
		}
		return l.re.MatchString(v.Str())
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
