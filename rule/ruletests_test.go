package rule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// windowedRule and countRule start a rules file of one rule, whose tests follow at two
// spaces (the rule's own level): windowedRule has group_by and a window, countRule is a
// customer's plain count. Their tests start at line 9 and line 6.
const (
	windowedRule = `- id: w
  scope: "*"
  when: {path: $.type, op: ==, value: login.failed}
  group_by: [$.user]
  window: {size: 10m, every: 1m}
  time: $.ts
  threshold: 2
  tests:
`
	countRule = `- id: c
  scope: c-1
  when: {path: $.type}
  threshold: 2
  tests:
`
)

// TestRuleTestErrors: every problem with a test is an error positioned like a rule's:
// file, line of the field at fault, rule and field.
func TestRuleTestErrors(t *testing.T) {
	mustLimits(t)
	const ev = "    events: [{type: login.failed}]\n"
	tests := []struct {
		name, file string
		want       string // a line of the error
	}{
		{"tests not a list", "- id: c\n  scope: c-1\n  when: {path: $.type}\n  threshold: 2\n  tests: {name: x}\n",
			`r.yaml:5: rule #1 (id "c"): invalid rule "c": tests: must be a list of tests, each with name, events and expect`},
		{"test not a mapping", countRule + "    - just a name\n",
			`r.yaml:6: rule #1 (id "c"): invalid rule "c": tests[0]: must be a mapping with name, events and expect`},
		{"name missing", countRule + "  - events: [{type: a}]\n    expect: {alerts: 0}\n",
			`r.yaml:6: rule #1 (id "c"): invalid rule "c": tests[0].name: is required: a text naming the test`},
		{"name not text", countRule + "  - name: [a]\n    events: [{type: a}]\n    expect: {alerts: 0}\n",
			`r.yaml:6: rule #1 (id "c"): invalid rule "c": tests[0].name: ["a"] is not a name: a non-empty text`},
		{"duplicate name", countRule + "  - name: a\n    events: [{type: a}]\n    expect: {alerts: 0}\n  - name: a\n    events: [{type: a}]\n    expect: {alerts: 0}\n",
			`r.yaml:9: rule #1 (id "c"): invalid rule "c": tests[1].name: "a" is already the name of tests[0]: names are unique within a rule`},
		{"unknown field", countRule + "  - name: a\n    events: [{type: a}]\n    expected: {alerts: 0}\n",
			`r.yaml:8: rule #1 (id "c"): invalid rule "c": tests[0].expected: unknown field; a test has name, customer, events, expect, record_time, every`},
		{"customer required for a global rule", windowedRule + "  - name: a\n" + ev + "    expect: {alerts: 0}\n",
			`r.yaml:9: rule #1 (id "w"): invalid rule "w": tests[0].customer: is required for a rule of scope "*": the customer the events belong to`},
		{"customer not the rule's scope", countRule + "  - name: a\n    customer: c-2\n    events: [{type: a}]\n    expect: {alerts: 0}\n",
			`r.yaml:7: rule #1 (id "c"): invalid rule "c": tests[0].customer: is "c-2", but the rule's scope is customer "c-1": it sees only that customer's events (leave customer out)`},
		{"customer *", windowedRule + "  - name: a\n    customer: '*'\n" + ev + "    expect: {alerts: 0}\n",
			`r.yaml:10: rule #1 (id "w"): invalid rule "w": tests[0].customer: must be one customer id (no '*', newline, carriage return or tab, at most 256 bytes)`},
		{"events missing", countRule + "  - name: a\n    expect: {alerts: 0}\n",
			`r.yaml:6: rule #1 (id "c"): invalid rule "c": tests[0].events: is required: a non-empty list of events (JSON objects)`},
		{"events empty", countRule + "  - name: a\n    events: []\n    expect: {alerts: 0}\n",
			`r.yaml:7: rule #1 (id "c"): invalid rule "c": tests[0].events: must be a non-empty list of events (JSON objects)`},
		{"event not an object", countRule + "  - name: a\n    events:\n      - {type: a}\n      - [type, a]\n    expect: {alerts: 0}\n",
			`r.yaml:9: rule #1 (id "c"): invalid rule "c": tests[0].events[1]: ["type","a"] is not an event: events are JSON objects`},
		{"event not JSON", countRule + "  - name: a\n    events: [{n: .inf}]\n    expect: {alerts: 0}\n",
			`r.yaml:7: rule #1 (id "c"): invalid rule "c": tests[0].events[0]: is not JSON: json: unsupported value: +Inf`},
		{"expect missing", countRule + "  - name: a\n    events: [{type: a}]\n",
			`r.yaml:6: rule #1 (id "c"): invalid rule "c": tests[0].expect: is required: {alerts: N}, or {alerts: [...]} listing them`},
		{"expect not a mapping", countRule + "  - name: a\n    events: [{type: a}]\n    expect: 1\n",
			`r.yaml:8: rule #1 (id "c"): invalid rule "c": tests[0].expect: must be {alerts: N}, or {alerts: [...]} listing them`},
		{"expect without alerts", countRule + "  - name: a\n    events: [{type: a}]\n    expect: {}\n",
			`r.yaml:8: rule #1 (id "c"): invalid rule "c": tests[0].expect.alerts: is required: {alerts: N}, or {alerts: [...]} listing them`},
		{"expect other field", countRule + "  - name: a\n    events: [{type: a}]\n    expect:\n      alerts: 1\n      count: 2\n",
			`r.yaml:10: rule #1 (id "c"): invalid rule "c": tests[0].expect.count: unknown field; expect has alerts only: {alerts: N}, or {alerts: [...]} listing them`},
		{"negative alerts", countRule + "  - name: a\n    events: [{type: a}]\n    expect:\n      alerts: -1\n",
			`r.yaml:9: rule #1 (id "c"): invalid rule "c": tests[0].expect.alerts: -1 is neither a number of alerts (a whole number, 0 or more) nor a list of alerts`},
		{"fractional alerts", countRule + "  - name: a\n    events: [{type: a}]\n    expect: {alerts: 1.5}\n",
			`r.yaml:8: rule #1 (id "c"): invalid rule "c": tests[0].expect.alerts: 1.5 is neither a number of alerts (a whole number, 0 or more) nor a list of alerts`},
		{"second test's alerts", countRule + "  - name: a\n    events: [{type: a}]\n    expect: {alerts: 1}\n  - name: b\n    events: [{type: a}]\n    expect:\n      alerts: many\n",
			`r.yaml:12: rule #1 (id "c"): invalid rule "c": tests[1].expect.alerts: "many" is neither a number of alerts (a whole number, 0 or more) nor a list of alerts`},
		{"expected alert not a mapping", countRule + "  - name: a\n    events: [{type: a}]\n    expect:\n      alerts:\n        - 2\n",
			`r.yaml:10: rule #1 (id "c"): invalid rule "c": tests[0].expect.alerts[0]: must be a mapping of any of group, value, window_start, context, status ({} is any alert)`},
		{"misspelt expected field", countRule + "  - name: a\n    events: [{type: a}]\n    expect:\n      alerts:\n        - {}\n        - {vaule: 2}\n",
			`r.yaml:11: rule #1 (id "c"): invalid rule "c": tests[0].expect.alerts[1].vaule: unknown field; an expected alert has group, value, window_start, context, status`},
		{"value not a number", countRule + "  - name: a\n    events: [{type: a}]\n    expect:\n      alerts:\n        - value: two\n",
			`r.yaml:10: rule #1 (id "c"): invalid rule "c": tests[0].expect.alerts[0].value: "two" is not a number`},
		{"group without group_by", countRule + "  - name: a\n    events: [{type: a}]\n    expect:\n      alerts:\n        - group: {$.user: a}\n",
			`r.yaml:10: rule #1 (id "c"): invalid rule "c": tests[0].expect.alerts[0].group: the rule has no group_by: its alerts have no group`},
		{"group path not grouped by", windowedRule + "  - name: a\n    customer: c-1\n" + ev + "    expect:\n      alerts:\n        - group:\n            $.user: a\n            $.host: h\n",
			`r.yaml:16: rule #1 (id "w"): invalid rule "w": tests[0].expect.alerts[0].group["$.host"]: is not one of the rule's group_by paths ($.user)`},
		{"context without alert.context", countRule + "  - name: a\n    events: [{type: a}]\n    expect:\n      alerts:\n        - context: {$.user: a}\n",
			`r.yaml:10: rule #1 (id "c"): invalid rule "c": tests[0].expect.alerts[0].context: the rule has no alert.context: its alerts have no context`},
		{"resolved without alert.resolve", windowedRule + "  - name: a\n    customer: c-1\n" + ev + "    expect:\n      alerts:\n        - status: resolved\n",
			`r.yaml:14: rule #1 (id "w"): invalid rule "w": tests[0].expect.alerts[0].status: the rule has no alert.resolve: its alerts are never resolved`},
		{"status not a status", windowedRule + "  - name: a\n    customer: c-1\n" + ev + "    expect:\n      alerts:\n        - status: open\n",
			`r.yaml:14: rule #1 (id "w"): invalid rule "w": tests[0].expect.alerts[0].status: "open": want firing or resolved`},
		{"window_start without window", countRule + "  - name: a\n    events: [{type: a}]\n    expect:\n      alerts:\n        - window_start: '2026-01-01T00:00:00Z'\n",
			`r.yaml:10: rule #1 (id "c"): invalid rule "c": tests[0].expect.alerts[0].window_start: the rule has no window: its alerts are of a running total`},
		{"window_start not a time", windowedRule + "  - name: a\n    customer: c-1\n" + ev + "    expect:\n      alerts:\n        - window_start: yesterday\n",
			`r.yaml:14: rule #1 (id "w"): invalid rule "w": tests[0].expect.alerts[0].window_start: "yesterday" is not an RFC 3339 time such as "2026-01-01T00:00:00Z": want YYYY-MM-DDTHH:MM:SS, an optional .fraction, then Z or an offset ±HH:MM up to ±23:59; T and Z in either case; a leap second (:60) is the second after it`},
		{"window_start not a window's", windowedRule + "  - name: a\n    customer: c-1\n" + ev + "    expect:\n      alerts:\n        - window_start: '2026-01-01T00:00:30Z'\n",
			`r.yaml:14: rule #1 (id "w"): invalid rule "w": tests[0].expect.alerts[0].window_start: 2026-01-01T00:00:30Z is not the start of a window: windows start every 1m0s from the Unix epoch (2026-01-01T00:00:00Z is one)`},
		{"record_time not a time", countRule + "  - name: a\n    events: [{type: a}]\n    record_time: 2026-01-01\n    expect: {alerts: 0}\n",
			`r.yaml:8: rule #1 (id "c"): invalid rule "c": tests[0].record_time: "2026-01-01" is not an RFC 3339 time such as "2026-01-01T00:00:00Z": want YYYY-MM-DDTHH:MM:SS, an optional .fraction, then Z or an offset ±HH:MM up to ±23:59; T and Z in either case; a leap second (:60) is the second after it`},
		{"every not a duration", countRule + "  - name: a\n    events: [{type: a}]\n    every: 5\n    expect: {alerts: 0}\n",
			`r.yaml:8: rule #1 (id "c"): invalid rule "c": tests[0].every: 5 is not a duration such as "1s" or "5m"`},
		{"every negative", countRule + "  - name: a\n    events: [{type: a}]\n    every: -1s\n    expect: {alerts: 0}\n",
			`r.yaml:8: rule #1 (id "c"): invalid rule "c": tests[0].every: must not be negative`},
		{"record times past 9999", countRule + "  - name: a\n    events: [{type: a}, {type: a}]\n    record_time: '9999-12-31T23:59:59Z'\n    every: 1d\n    expect: {alerts: 0}\n",
			`r.yaml:9: rule #1 (id "c"): invalid rule "c": tests[0].every: 2 events every 24h0m0s from 9999-12-31T23:59:59Z run past the year 9999 in UTC`},
		{"second rule", countRule + "  - name: a\n    events: [{type: a}]\n    expect: {alerts: 0}\n" + windowedRule + "  - name: a\n    customer: c-1\n    events: {type: a}\n    expect: {alerts: 0}\n",
			`r.yaml:19: rule #2 (id "w"): invalid rule "w": tests[0].events: must be a non-empty list of events (JSON objects)`},
		{"JSON file", `{"rules": [{"id": "c", "scope": "c-1", "when": {"path": "$.type"}, "threshold": 2,
  "tests": [{"name": "a", "events": [{"type": "a"}],
    "expect": {"alerts": -2}}]}]}`,
			`r.yaml:3: rule #1 (id "c"): invalid rule "c": tests[0].expect.alerts: -2 is neither a number of alerts (a whole number, 0 or more) nor a list of alerts`},
		{"an invalid rule's tests are not checked", "- id: c\n  scope: c-1\n  when: {path: '$['}\n  threshold: 2\n  tests: [{}]\n",
			`r.yaml:1: rule #1 (id "c"): invalid rule "c": when.path: column 3: unexpected end of expression, expected a selector in "$["`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseRulesFileTests("r.yaml", []byte(tt.file))
			if err == nil {
				t.Fatalf("accepted %d rules and %d tests", len(f.Rules), len(f.Tests))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not match ErrInvalid: %v", err)
			}
			if !slices.Contains(strings.Split(err.Error(), "\n"), tt.want) {
				t.Errorf("error\n got  %s\n want a line %s", err, tt.want)
			}
			var fe *FileError
			var ve *ValidationError
			if !errors.As(err, &fe) || !errors.As(err, &ve) {
				t.Errorf("error is not a *FileError around a *ValidationError: %#v", err)
			}
			// The rules-only parser refuses the file alike.
			if _, err2 := ParseRulesFile("r.yaml", []byte(tt.file)); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("ParseRulesFile: %v", err2)
			}
		})
	}
}

// TestRuleTestsParse: a file's tests, with defaults filled.
func TestRuleTestsParse(t *testing.T) {
	mustLimits(t)
	f, err := readTestFile(t, "valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rules) != 2 || len(f.Tests) != 3 {
		t.Fatalf("%d rules and %d tests, want 2 and 3", len(f.Rules), len(f.Tests))
	}
	burst, payroll := f.Rules[0], f.Rules[1]
	if got := f.TestsOf(burst); len(got) != 2 || got[0] != f.Tests[0] || got[1] != f.Tests[1] {
		t.Errorf("TestsOf(burst) = %v", got)
	}
	t0, t1, t2 := f.Tests[0], f.Tests[1], f.Tests[2]
	start := time.Date(2025, 12, 31, 23, 55, 0, 0, time.UTC)
	checks := []struct {
		what      string
		got, want any
	}{
		{"t0 rule", t0.Rule, burst},
		{"t0 index", t0.Index, 0},
		{"t0 line", t0.Line, 11},
		{"t0 name", t0.Name, "five failures in ten minutes fire"},
		{"t0 customer", t0.Customer, "c-1"},
		{"t0 events", len(t0.Events), 5},
		{"t0 event 4", string(t0.Events[4]), `{"ts":"2026-01-01T00:04:00Z","type":"login.failed","actor":{"email":"a@x"}}`},
		{"t0 record time (default)", t0.RecordTime, DefaultTestRecordTime},
		{"t0 every (default)", t0.Every, time.Second},
		{"t0 event 3's record time", t0.RecordTimeOf(3), DefaultTestRecordTime.Add(3 * time.Second)},
		{"t0 expect count", t0.Expect.Alerts, 2},
		{"t0 expect line", t0.Expect.Line, 20},
		{"t0 expected alert 0 group", string(t0.Expect.List[0].Group["$.actor.email"]), `"a@x"`},
		{"t0 expected alert 0 value", *t0.Expect.List[0].Value, 5.0},
		{"t0 expected alert 0 window", *t0.Expect.List[0].WindowStart, start},
		{"t0 expected alert 0 line", t0.Expect.List[0].Line, 21},
		{"t0 expected alert 1 is any", t0.Expect.List[1].Group == nil && t0.Expect.List[1].Value == nil && t0.Expect.List[1].WindowStart == nil, true},
		{"t1 index", t1.Index, 1},
		{"t1 events (an alias)", len(t1.Events), 5},
		{"t1 record time", t1.RecordTime, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"t1 every", t1.Every, time.Minute},
		{"t1 expect", t1.Expect.Alerts, 5},
		{"t1 expect is a number", t1.Expect.List == nil, true},
		{"t2 rule", t2.Rule, payroll},
		{"t2 customer (the rule's scope)", t2.Customer, "c-0000"},
		{"t2 expect", t2.Expect.Alerts, 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

// TestRuleTestsAreNotTheRules: rules with tests are the same rules, with the same
// control records, as without them, and a control record cannot carry tests.
func TestRuleTestsAreNotTheRules(t *testing.T) {
	mustLimits(t)
	with, err := readTestFile(t, "valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	without, err := readTestFile(t, "valid-without-tests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(without.Tests) != 0 || len(with.Rules) != len(without.Rules) {
		t.Fatalf("%d and %d rules, %d tests without tests", len(with.Rules), len(without.Rules), len(without.Tests))
	}
	for i := range with.Rules {
		a, err := Upsert(with.Rules[i]).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Upsert(without.Rules[i]).Marshal()
		if !bytes.Equal(a, b) {
			t.Errorf("rule #%d's control differs with tests:\n with    %s\n without %s", i+1, a, b)
		}
		if bytes.Contains(a, []byte("tests")) {
			t.Errorf("control carries the tests: %s", a)
		}
	}
	rules, err := ParseRulesFile("valid.yaml", mustReadTestFile(t, "valid.yaml"))
	if err != nil || len(rules) != 2 {
		t.Fatalf("ParseRulesFile of a file with tests: %d rules, %v", len(rules), err)
	}

	ctl := `{"op":"upsert","rule":{"id":"c","scope":"c-1","when":{"path":"$.type"},"threshold":2,"tests":[]}}`
	if _, err := ParseControl([]byte(ctl)); err == nil || !strings.Contains(err.Error(), "tests") {
		t.Errorf("a control with tests: %v; want an unknown field error", err)
	}
}

// TestRuleTestsLimits: tests count toward max_rules_file_bytes, not max_rule_bytes, and
// YAML aliases in them are counted in full, quickly.
func TestRuleTestsLimits(t *testing.T) {
	mustLimits(t)
	// Events of 200 KB: more than max_rule_bytes, well within the file's limit.
	var big strings.Builder
	big.WriteString(countRule + "  - name: big\n    events:\n")
	for range 2000 {
		big.WriteString("      - {type: a, pad: " + strings.Repeat("x", 80) + "}\n")
	}
	big.WriteString("    expect: {alerts: 1}\n")
	f, err := ParseRulesFileTests("big.yaml", []byte(big.String()))
	if err != nil || len(f.Tests) != 1 || len(f.Tests[0].Events) != 2000 {
		t.Fatalf("tests larger than a rule: %v", err)
	}

	const anchors = `- x: &a {lol: [lol, lol, lol, lol, lol, lol, lol, lol, lol]}
      y: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
      z: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
`
	// A rule of about 55 KB, under max_rule_bytes, whose in list is an anchor that its
	// tests use 20 times: more than max_rules_file_bytes once counted in full.
	var members []string
	for i := range 1000 {
		members = append(members, fmt.Sprintf("m%049d", i))
	}
	shared := "- id: w\n  scope: c-1\n  threshold: 1\n  when: {path: $.a, op: in, value: &in [" + strings.Join(members, ", ") + "]}\n" +
		"  tests:\n  - name: shared\n    events:\n" + strings.Repeat("    - {v: *in}\n", 20) + "    expect: {alerts: 0}\n"
	tests := []struct {
		name, file, want string
	}{
		// The rule after it is not read: the file's budget is spent.
		{"billion laughs in the tests", windowedRule + "  - name: lol\n    customer: c-1\n    events:\n    " + anchors + "    expect: {alerts: 0}\n" + countRule + "  - {}\n",
			"bomb.yaml:17: rule #1: rule: invalid: the rules up to this one, with their tests, are larger than 1048576 bytes, counting every use of a YAML alias in full (limit max_rules_file_bytes)"},
		{"tests use the rule's anchor", shared,
			"bomb.yaml:27: rule #1: rule: invalid: the rules up to this one, with their tests, are larger than 1048576 bytes, counting every use of a YAML alias in full (limit max_rules_file_bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ParseRulesFileTests("bomb.yaml", []byte(tt.file))
			runtime.ReadMemStats(&after)
			if err == nil || !errors.Is(err, ErrInvalid) || err.Error() != tt.want {
				t.Fatalf("error\n got  %.1000v\n want %s", err, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("parsing allocated %d MiB, want < 64", alloc>>20)
			}
		})
	}
}

func readTestFile(t *testing.T, name string) (*RulesFile, error) {
	t.Helper()
	return ParseRulesFileTests(name, mustReadTestFile(t, name))
}

func mustReadTestFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "ruletests", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// FuzzParseRulesFileTests: any bytes as a rules file give rules and tests or an error;
// never a panic. The rules are ParseRulesFile's, every test is of one of them, and its
// events are JSON objects.
func FuzzParseRulesFileTests(f *testing.F) {
	f.Add([]byte(countRule + "  - {name: a, events: [{type: a}], expect: {alerts: 1}}\n"))
	f.Add([]byte(windowedRule + "  - name: a\n    customer: c-1\n    events: [{ts: '2026-01-01T00:00:00Z', type: login.failed}]\n" +
		"    every: 1m\n    record_time: '2026-01-01T00:00:00Z'\n    expect: {alerts: [{group: {$.user: null}, value: 1, window_start: '2026-01-01T00:00:00Z'}, {}]}\n"))
	f.Add([]byte(`[{"id":"c","scope":"c-1","when":{"path":"$.a"},"threshold":1,"tests":[{"name":"a","events":[{"a":1}],"expect":{"alerts":0}}]}]`))
	f.Add([]byte("- id: c\n  scope: c-1\n  threshold: 1\n  when: {path: $.a}\n  tests: &t [{name: x, events: [{a: *t}], expect: {alerts: 1}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseRulesFileTests("f.yaml", data)
		rules, err2 := ParseRulesFile("f.yaml", data)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("ParseRulesFileTests: %v; ParseRulesFile: %v", err, err2)
		}
		if err != nil {
			return
		}
		if len(rules) != len(file.Rules) {
			t.Fatalf("%d rules, ParseRulesFile %d", len(file.Rules), len(rules))
		}
		for _, tt := range file.Tests {
			if !slices.Contains(file.Rules, tt.Rule) || tt.Name == "" || tt.Customer == "" || len(tt.Events) == 0 {
				t.Fatalf("test %+v", tt)
			}
			for _, ev := range tt.Events {
				if !json.Valid(ev) || ev[0] != '{' {
					t.Fatalf("event %s", ev)
				}
			}
			if tt.Expect.List != nil && tt.Expect.Alerts != len(tt.Expect.List) {
				t.Fatalf("expect %+v", tt.Expect)
			}
		}
	})
}

// TestTestEventsKeepMemberOrder: a test's event is written as the file has it, members in
// order, since a path that selects several ($.g.*, ..x) takes the first in document order
// for a group_by value or a sum, as live does from the same text. The events were decoded
// into maps and written by encoding/json, keys sorted: a test of
// {"v":{"z":5,"a":7}} summed 7 where live sums 5.
func TestTestEventsKeepMemberOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, events, want string }{
		{"flow", `[{"type":"x","v":{"z":5,"a":7},"g":{"z":"zed","a":"ay"}}]`, `{"type":"x","v":{"z":5,"a":7},"g":{"z":"zed","a":"ay"}}`},
		{"block", "\n          - type: x\n            z: [{b: 1, a: 2}]\n            a: 1", `{"type":"x","z":[{"b":1,"a":2}],"a":1}`},
		{"merged keys after the written", "\n          - &e {type: x, zz: 1}\n          - {y: 2, <<: *e, b: 3}", `{"y":2,"type":"x","zz":1,"b":3}`},
		{"a written key wins over the merged, where it was written", "\n          - &e {type: y, zz: 1}\n          - {type: x, <<: *e}", `{"type":"x","zz":1}`},
		{"numbers and escapes", `[{"type":"x","n":1e5,"s":"<\u00e9>"}]`, `{"type":"x","n":1e5,"s":"\u003cé\u003e"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := `rules:
  - id: r
    scope: "*"
    when: {path: $.type, op: ==, value: x}
    threshold: 1
    tests:
      - name: t
        customer: c-1
        events: ` + tc.events + `
        expect: {alerts: 1}
`
			f, err := ParseRulesFileTests("rules.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			events := f.Tests[0].Events
			if got := string(events[len(events)-1]); got != tc.want {
				t.Errorf("the test's event is\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestAliasedTestEventsKeepMemberOrder: a list of test events anchored in one test and
// aliased in another (a way to reuse a burst) is written as the file has it too. The
// decoder shares the anchored list with its alias, and normalizeYAML replaced its
// elements in place: the second pass met maps already normalized and copied them
// without their order (a review's test: both tests' events came out sorted).
func TestAliasedTestEventsKeepMemberOrder(t *testing.T) {
	t.Parallel()
	src := `rules:
  - id: r
    scope: "*"
    when: {path: $.type, op: ==, value: x}
    threshold: 1
    tests:
      - name: t
        customer: c-1
        events: &ev [{type: x, v: {z: 5, a: 7}}]
        expect: {alerts: 1}
      - name: u
        customer: c-2
        events: *ev
        expect: {alerts: 1}
`
	f, err := ParseRulesFileTests("rules.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"type":"x","v":{"z":5,"a":7}}`
	for _, tt := range f.Tests {
		if got := string(tt.Events[0]); got != want {
			t.Errorf("test %s: event %s, want %s", tt.Name, got, want)
		}
	}
}
