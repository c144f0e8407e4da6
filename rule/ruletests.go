package rule

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/goccy/go-yaml/ast"

	"github.com/hindsightdev/hindsight/internal/rfc3339"
)

// The defaults of a test's record_time and every.
var (
	DefaultTestRecordTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	DefaultTestEvery      = time.Second
)

// RulesFile is a parsed rules file: its rules and the tests written with them.
type RulesFile struct {
	// Name is the file's name as given to the parser, for messages.
	Name string
	// Rules are the file's rules in file order, validated: what ParseRulesFile returns.
	Rules []*Rule
	// Lines are the 1-based line of each rule's entry in the file, by index of Rules:
	// where a problem found after parsing (a version not newer than the active
	// rule's) points.
	Lines []int
	// Tests are every rule's tests in file order; a rule's tests are together, in the
	// order of its tests list.
	Tests []*RuleTest
}

// TestsOf returns the tests of r, one of f.Rules.
func (f *RulesFile) TestsOf(r *Rule) []*RuleTest {
	var out []*RuleTest
	for _, t := range f.Tests {
		if t.Rule == r {
			out = append(out, t)
		}
	}
	return out
}

// RuleTest is one entry of a rule's tests list: events of one customer, and the alerts
// the rule must raise when the live evaluator sees them, in order, in one partition.
//
// Tests belong to the rules file, not to the rule: ParseRulesFile takes them out of
// each rule's mapping before the rule is decoded, so a rule with tests has the same
// JSON, fingerprint and control record as without them, and a control record can never
// carry tests (the rule decoder refuses the unknown field). ParseRulesFileTests returns
// them; `hindsight rules test` runs them with the live evaluator (package window) and
// `hindsight rules apply` refuses a file whose tests fail. In a rules file:
//
//	tests:
//	  - name: five failures in ten minutes fire   # required, unique within the rule
//	    customer: c-1        # required for a global rule; a customer's rule: its scope
//	    events: [{ts: "2026-01-01T00:00:00Z", type: login.failed}, ...]  # JSON objects
//	    expect: {alerts: 1}  # or {alerts: [{group: {$.actor.email: a@x}, value: 5,
//	                         #   window_start: "2026-01-01T00:00:00Z", status: firing}, ...]}
//	    record_time: "2026-01-01T00:00:00Z"   # optional: the first event's record time
//	    every: 1s            # optional: the step between events' record times
//
// Event i's record timestamp is record_time + i×every; it is the event time of a rule
// without a time path. Every field of a listed alert is optional ({} is any alert); a
// window_start must be a window's start, a group's paths the rule's group_by paths.
// record_time and window_start are RFC 3339 text read as an event's time is
// (internal/rfc3339): a text an event's time may be, a test may write.
// Tests count toward max_rules_file_bytes, YAML aliases in full, and not toward the
// rule's max_rule_bytes.
type RuleTest struct {
	// Rule is the rule under test.
	Rule *Rule
	// Index is the test's position in the rule's tests list (tests[Index]).
	Index int
	// Line is where the test starts in the file.
	Line     int
	Name     string
	Customer string
	// Events are the events as compact JSON objects, in offset order.
	Events []json.RawMessage
	// RecordTime is the first event's record timestamp and Every the step between two
	// events' (see RecordTimeOf).
	RecordTime time.Time
	Every      time.Duration
	Expect     TestExpect
}

// RecordTimeOf is the record timestamp of event i: RecordTime + i×Every.
func (t *RuleTest) RecordTimeOf(i int) time.Time {
	return t.RecordTime.Add(time.Duration(i) * t.Every)
}

// TestExpect is what a test expects of the alerts its events raise: how many, and,
// when List is not nil, which.
type TestExpect struct {
	// Alerts is the number of alerts (len(List) when List is not nil).
	Alerts int
	// List, when not nil, describes the alerts: each must match a different alert, and
	// there must be no others.
	List []ExpectedAlert
	// Line is where expect.alerts is written.
	Line int
}

// ExpectedAlert is one alert a test lists. A field not written (nil) matches anything.
type ExpectedAlert struct {
	// Group is the value each written group_by path must have, as JSON, compared as
	// JSON values (1 equals 1.0); paths of the rule's group_by not written match any
	// value.
	Group map[string]json.RawMessage
	// Value is the aggregate's value when the alert was raised.
	Value *float64
	// WindowStart is the start of the alerting window.
	WindowStart *time.Time
	// Context is the value each written alert.context path must have, as JSON,
	// compared as JSON values; paths not written match any value.
	Context map[string]json.RawMessage
	// Status is "firing" or "resolved" (a rule with alert.resolve); empty matches both.
	Status string
	// Line is where the alert is written.
	Line int
}

// testFields are the fields of one test, for the message about an unknown one.
var testFields = []string{"name", "customer", "events", "expect", "record_time", "every"}

// testProblem is one thing wrong with a rule's tests: the field (as in "tests[1].name")
// and the line it is on.
type testProblem struct {
	line  int
	field string
	msg   string
}

// testParser validates one rule's tests list, decoded from YAML, against the rule
// (validated). Lines come from the YAML nodes, by field path; decoded values have none.
type testParser struct {
	r *Rule
	// order is the decoded file's member order: an event is written as the file has it.
	order    memberOrder
	lines    map[string]int
	ruleLine int
	problems []testProblem
}

// parseRuleTests returns the tests of rule r from v, the decoded value of its tests key
// (node, its YAML node, locates problems; nil puts them at ruleLine, the rule's line).
func parseRuleTests(r *Rule, v any, order memberOrder, node ast.Node, ruleLine int) ([]*RuleTest, []testProblem) {
	p := &testParser{r: r, lines: map[string]int{}, ruleLine: ruleLine, order: order}
	if node != nil {
		p.collectLines(node, "tests", 0)
	}
	list, ok := v.([]any)
	if !ok {
		p.fail("tests", "tests", "must be a list of tests, each with name, events and expect")
		return nil, p.problems
	}
	var tests []*RuleTest
	names := map[string]int{}
	for i, item := range list {
		at := fmt.Sprintf("tests[%d]", i)
		t := p.parseTest(at, item)
		if t == nil {
			continue
		}
		t.Index = i
		if j, dup := names[t.Name]; dup {
			p.fail(at+".name", at+".name", fmt.Sprintf("%q is already the name of tests[%d]: names are unique within a rule", t.Name, j))
			continue
		}
		names[t.Name] = i
		tests = append(tests, t)
	}
	if len(p.problems) > 0 {
		return nil, p.problems
	}
	return tests, nil
}

// maxLineDepth is how deep below the tests key lines are collected: deep enough for
// tests[i].expect.alerts[k].group.PATH, and no deeper into events, whose problems are
// about a whole event.
const maxLineDepth = 6

// collectLines records the line of every field at most maxLineDepth levels under n,
// whose field path is at. Aliases are not followed: a problem in an alias's value is
// placed at the alias.
func (p *testParser) collectLines(n ast.Node, at string, depth int) {
	if n == nil {
		return
	}
	if _, seen := p.lines[at]; !seen {
		p.lines[at] = lineOfNode(n)
	}
	if depth >= maxLineDepth {
		return
	}
	switch n := n.(type) {
	case *ast.AnchorNode:
		p.collectLines(n.Value, at, depth)
	case *ast.TagNode:
		p.collectLines(n.Value, at, depth)
	case *ast.MappingNode:
		for _, kv := range n.Values {
			p.collectLines(kv, at, depth)
		}
	case *ast.MappingValueNode:
		if k, ok := keyText(n.Key); ok {
			child := at + "." + k
			if line := lineOfNode(n.Key); line > 0 {
				p.lines[child] = line
			}
			p.collectLines(n.Value, child, depth+1)
		}
	case *ast.SequenceNode:
		for i, v := range n.Values {
			p.collectLines(v, fmt.Sprintf("%s[%d]", at, i), depth+1)
		}
	}
}

// line is the line of the field at, or of the nearest enclosing field that has one.
func (p *testParser) line(at string) int {
	for at != "" {
		if l, ok := p.lines[at]; ok && l > 0 {
			return l
		}
		i := strings.LastIndexAny(at, ".[")
		if i < 0 {
			break
		}
		at = at[:i]
	}
	return p.ruleLine
}

// fail records a problem of the field at (its path in the YAML, for the line), named
// field in the message.
func (p *testParser) fail(at, field, msg string) {
	p.problems = append(p.problems, testProblem{line: p.line(at), field: field, msg: msg})
}

func (p *testParser) parseTest(at string, v any) *RuleTest {
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(at, at, "must be a mapping with name, events and expect")
		return nil
	}
	before := len(p.problems)
	t := &RuleTest{Rule: p.r, Line: p.line(at), RecordTime: DefaultTestRecordTime, Every: DefaultTestEvery}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(testFields, k) {
			p.fail(at+"."+k, at+"."+k, "unknown field; a test has "+strings.Join(testFields, ", "))
		}
	}

	switch name, ok := m["name"].(string); {
	case m["name"] == nil:
		p.fail(at+".name", at+".name", "is required: a text naming the test")
	case !ok || name == "":
		p.fail(at+".name", at+".name", fmt.Sprintf("%s is not a name: a non-empty text", describe(m["name"])))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		p.fail(at+".name", at+".name", "must not contain control characters")
	default:
		t.Name = name
	}

	t.Customer = p.parseCustomer(at+".customer", m["customer"])

	if raw, ok := m["events"]; !ok {
		p.fail(at+".events", at+".events", "is required: a non-empty list of events (JSON objects)")
	} else {
		t.Events = p.parseEvents(at+".events", raw)
	}

	recordTimeOK := true
	if raw, ok := m["record_time"]; ok {
		s, ok := raw.(string)
		rt, parsed := rfc3339.Parse(s)
		switch {
		case !ok || !parsed:
			recordTimeOK = false
			p.fail(at+".record_time", at+".record_time", notRFC3339(raw))
		case !InRFC3339Years(rt):
			// Its offset carried it out of them: alerts write their times in UTC.
			recordTimeOK = false
			p.fail(at+".record_time", at+".record_time", fmt.Sprintf("%s is %s in UTC, outside the years 0000 to 9999 that an alert's times (RFC 3339) are written in",
				s, rt.UTC().Format(time.RFC3339Nano)))
		default:
			t.RecordTime = rt
		}
	}
	if raw, ok := m["every"]; ok {
		s, ok := raw.(string)
		d, err := ParseDuration(s)
		switch {
		case !ok:
			p.fail(at+".every", at+".every", fmt.Sprintf("%s is not a duration such as \"1s\" or \"5m\"", describe(raw)))
		case err != nil:
			p.fail(at+".every", at+".every", err.Error())
		case d < 0:
			p.fail(at+".every", at+".every", "must not be negative")
		default:
			t.Every = time.Duration(d)
		}
	}
	// The last event's record time must be a time too: record times are written in
	// alerts, in UTC (record_time, checked above, is the first).
	if n := int64(len(t.Events)); recordTimeOK && n > 1 && t.Every > 0 {
		if n-1 > math.MaxInt64/int64(t.Every) || !InRFC3339Years(t.RecordTimeOf(int(n-1))) {
			p.fail(at+".every", at+".every", fmt.Sprintf("%d events every %s from %s run past the year 9999 in UTC", n, t.Every, t.RecordTime.Format(time.RFC3339)))
		}
	}

	if raw, ok := m["expect"]; !ok {
		p.fail(at+".expect", at+".expect", "is required: {alerts: N}, or {alerts: [...]} listing them")
	} else {
		t.Expect = p.parseExpect(at+".expect", raw)
	}
	if len(p.problems) > before {
		return nil
	}
	return t
}

// parseCustomer checks a test's customer: required for a global rule, the rule's scope
// (by default) for a customer's own rule, since it sees no other customer's events.
func (p *testParser) parseCustomer(at string, v any) string {
	if v == nil {
		if p.r.Global() {
			p.fail(at, at, `is required for a rule of scope "*": the customer the events belong to`)
			return ""
		}
		return p.r.Scope
	}
	c, ok := v.(string)
	switch {
	case !ok || c == "":
		p.fail(at, at, fmt.Sprintf("%s is not a customer id", describe(v)))
	case strings.ContainsAny(c, "*\n\r\t") || len(c) > 256:
		p.fail(at, at, "must be one customer id (no '*', newline, carriage return or tab, at most 256 bytes)")
	case !p.r.Global() && c != p.r.Scope:
		p.fail(at, at, fmt.Sprintf("is %q, but the rule's scope is customer %q: it sees only that customer's events (leave customer out)", c, p.r.Scope))
	default:
		return c
	}
	return ""
}

func (p *testParser) parseEvents(at string, v any) []json.RawMessage {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		p.fail(at, at, "must be a non-empty list of events (JSON objects)")
		return nil
	}
	out := make([]json.RawMessage, 0, len(list))
	for i, e := range list {
		eat := fmt.Sprintf("%s[%d]", at, i)
		if _, ok := e.(map[string]any); !ok {
			p.fail(eat, eat, fmt.Sprintf("%s is not an event: events are JSON objects", describe(e)))
			continue
		}
		js, err := p.order.appendJSON(nil, e)
		if err != nil {
			p.fail(eat, eat, fmt.Sprintf("is not JSON: %v", err))
			continue
		}
		out = append(out, js)
	}
	return out
}

func (p *testParser) parseExpect(at string, v any) TestExpect {
	const shape = "{alerts: N}, or {alerts: [...]} listing them"
	var e TestExpect
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(at, at, "must be "+shape)
		return e
	}
	for _, k := range sortedKeys(m) {
		if k != "alerts" {
			p.fail(at+"."+k, at+"."+k, "unknown field; expect has alerts only: "+shape)
		}
	}
	at += ".alerts"
	e.Line = p.line(at)
	raw, ok := m["alerts"]
	if !ok {
		p.fail(at, at, "is required: "+shape)
		return e
	}
	list, isList := raw.([]any)
	if !isList {
		n, ok := number(raw)
		if !ok || n < 0 || n != math.Trunc(n) || n > MaxSafeInteger {
			p.fail(at, at, fmt.Sprintf("%s is neither a number of alerts (a whole number, 0 or more) nor a list of alerts", describe(raw)))
			return e
		}
		e.Alerts = int(n)
		return e
	}
	e.List = make([]ExpectedAlert, 0, len(list))
	for i, item := range list {
		if a, ok := p.parseExpectedAlert(fmt.Sprintf("%s[%d]", at, i), item); ok {
			e.List = append(e.List, a)
		}
	}
	e.Alerts = len(e.List)
	return e
}

// alertFields are the fields of an expected alert.
var alertFields = []string{"group", "value", "window_start", "context", "status"}

func (p *testParser) parseExpectedAlert(at string, v any) (ExpectedAlert, bool) {
	a := ExpectedAlert{Line: p.line(at)}
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(at, at, "must be a mapping of any of "+strings.Join(alertFields, ", ")+" ({} is any alert)")
		return a, false
	}
	before := len(p.problems)
	for _, k := range sortedKeys(m) {
		if !slices.Contains(alertFields, k) {
			p.fail(at+"."+k, at+"."+k, "unknown field; an expected alert has "+strings.Join(alertFields, ", "))
		}
	}
	if raw, ok := m["group"]; ok {
		a.Group = p.parseGroup(at+".group", raw)
	}
	if raw, ok := m["value"]; ok {
		if n, ok := number(raw); ok {
			a.Value = &n
		} else {
			p.fail(at+".value", at+".value", fmt.Sprintf("%s is not a number", describe(raw)))
		}
	}
	if raw, ok := m["window_start"]; ok {
		a.WindowStart = p.parseWindowStart(at+".window_start", raw)
	}
	if raw, ok := m["context"]; ok {
		var paths []string
		if p.r.Alert != nil {
			paths = p.r.Alert.Context
		}
		a.Context = p.parseValues(at+".context", raw, paths, "alert.context", "the rule has no alert.context: its alerts have no context")
	}
	if raw, ok := m["status"]; ok {
		switch st, _ := raw.(string); {
		case st == "firing" || st == "resolved" && p.r.Resolves():
			a.Status = st
		case st == "resolved":
			p.fail(at+".status", at+".status", "the rule has no alert.resolve: its alerts are never resolved")
		default:
			p.fail(at+".status", at+".status", fmt.Sprintf("%s: want firing or resolved", describe(raw)))
		}
	}
	return a, len(p.problems) == before
}

func (p *testParser) parseGroup(at string, v any) map[string]json.RawMessage {
	return p.parseValues(at, v, p.r.GroupBy, "group_by", "the rule has no group_by: its alerts have no group")
}

// parseValues reads an expected alert's mapping of some of the rule's paths (those of
// its field what: group_by or alert.context) to JSON values; none says what having no
// paths means.
func (p *testParser) parseValues(at string, v any, paths []string, what, none string) map[string]json.RawMessage {
	if len(paths) == 0 {
		p.fail(at, at, none)
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(at, at, fmt.Sprintf("must be a mapping of the rule's %s paths to their values", what))
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for _, path := range sortedKeys(m) {
		field := fmt.Sprintf("%s[%s]", at, strconv.Quote(path))
		if !slices.Contains(paths, path) {
			p.fail(at+"."+path, field, fmt.Sprintf("is not one of the rule's %s paths (%s)", what, strings.Join(paths, ", ")))
			continue
		}
		js, err := json.Marshal(m[path])
		if err != nil {
			p.fail(at+"."+path, field, fmt.Sprintf("is not JSON: %v", err))
			continue
		}
		out[path] = js
	}
	return out
}

// notRFC3339 refuses v as a test's time, saying what the grammar takes: the one
// event times are read with (rfc3339.Parse), not time.Parse's.
func notRFC3339(v any) string {
	return fmt.Sprintf("%s is not an RFC 3339 time such as %q: want %s", describe(v), DefaultTestRecordTime.Format(time.RFC3339), rfc3339.Form)
}

func (p *testParser) parseWindowStart(at string, v any) *time.Time {
	w := p.r.Window
	if w == nil {
		p.fail(at, at, "the rule has no window: its alerts are of a running total")
		return nil
	}
	s, ok := v.(string)
	t, parsed := rfc3339.Parse(s)
	if !ok || !parsed {
		p.fail(at, at, notRFC3339(v))
		return nil
	}
	// Windows start at whole multiples of every since the epoch: another start can never
	// match, which is a mistake in the test, not a failure of the rule.
	every := time.Duration(w.Every).Milliseconds()
	ms := t.UnixMilli()
	if off := (ms%every + every) % every; off != 0 || t.Nanosecond()%int(time.Millisecond) != 0 {
		prev := time.UnixMilli(ms - off).UTC()
		p.fail(at, at, fmt.Sprintf("%s is not the start of a window: windows start every %s from the Unix epoch (%s is one)",
			s, w.Every, prev.Format(time.RFC3339Nano)))
		return nil
	}
	t = t.UTC()
	return &t
}

// number is a decoded YAML or JSON number as a float64 (false for anything else, and
// for NaN and infinities).
func number(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case uint64:
		f = float64(n)
	case float64:
		f = n
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// describe names a decoded value in a message: its JSON, shortened.
func describe(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 40 {
		return strings.ToValidUTF8(string(b[:37]), "") + "..."
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// testsKey is the tests entry of a rule's YAML mapping (nil if none), found through
// anchors and tags as the decoder finds it.
func testsKey(n ast.Node) *ast.MappingValueNode {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.MappingValueNode:
			if k, ok := keyText(v.Key); ok && k == "tests" {
				return v
			}
			return nil
		case *ast.MappingNode:
			var found *ast.MappingValueNode
			for _, kv := range v.Values {
				if k, ok := keyText(kv.Key); ok && k == "tests" {
					found = kv
				}
			}
			return found
		default:
			return nil
		}
	}
}
