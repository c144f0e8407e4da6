package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/golden"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/rule"
)

// demoEvents is what testdata/demo-events.ndjson holds: seeded generated events.
func demoEvents() []byte {
	gen := workload.New(2026, workload.Config{Customers: 5})
	var b bytes.Buffer
	for range 400 {
		b.Write(gen.NextShared().JSON)
		b.WriteByte('\n')
	}
	b.WriteString("{\"type\": \"login.failed\", \"customer\": \"c-0000\", truncated\n")
	b.WriteString("{\"type\": \"login.failed\"}\n")
	return b.Bytes()
}

func TestRulesTestGolden(t *testing.T) {
	t.Parallel()
	events := demoEvents()
	golden.Check(t, "demo-events.ndjson", events)
	var out bytes.Buffer
	sum, err := runRulesTest(context.Background(), rulesTestConfig{
		RulesFile: "testdata/demo-rules.yaml", Events: bytes.NewReader(events),
		EventsName: "demo-events.ndjson", Out: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 402 || sum.Invalid != 2 {
		t.Fatalf("events %d invalid %d, want 402 and 2", sum.Events, sum.Invalid)
	}
	if len(sum.Counts) < 4 {
		t.Fatalf("only %d of 5 sample rules matched anything; the demo would show little", len(sum.Counts))
	}
	for key, per := range sum.Counts {
		if key.Scope != rule.GlobalScope {
			for c := range per {
				if c != key.Scope {
					t.Fatalf("rule %s counted customer %s", key, c)
				}
			}
		}
	}
	if !strings.Contains(out.String(), "skipped: jsonpath: invalid JSON") {
		t.Errorf("the malformed line is not reported as such:\n%s", out.String())
	}
	golden.Check(t, "demo-rules-test.golden", out.Bytes())
}

// The rules files with tests: every test of the example passes; the other has a passing
// and a failing rule. Both have a windowed rule with group_by and a plain count.
const (
	testedRules  = "testdata/rules-with-tests.yaml"
	failingRules = "testdata/rules-tests-failing.yaml"
)

// TestRuleTestsGolden: the report of a rules file's tests, passing and failing, as text
// and as JSON.
func TestRuleTestsGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, golden string
		json         bool
		tests, fail  int
	}{
		{testedRules, "rules-with-tests.golden", false, 8, 0},
		{failingRules, "rules-tests-failing.golden", false, 5, 3},
		{failingRules, "rules-tests-failing.json.golden", true, 5, 3},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			f, err := rule.ReadRulesFileTests(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			sum, err := runRuleTests(f, &out, tt.json)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Tests != tt.tests || sum.Failed != tt.fail {
				t.Errorf("%d tests, %d failed; want %d and %d", sum.Tests, sum.Failed, tt.tests, tt.fail)
			}
			if tt.json {
				var doc struct {
					Pass    bool
					Results []struct {
						Pass   bool
						Alerts []contract.Alert
					}
				}
				if err := json.Unmarshal(out.Bytes(), &doc); err != nil || doc.Pass != (tt.fail == 0) || len(doc.Results) != tt.tests {
					t.Errorf("JSON report: %v, %+v", err, doc)
				}
				if a := doc.Results[1].Alerts; len(a) != 3 || a[0].Source != contract.SourceTest || a[0].Group == nil || a[0].WindowStart == nil {
					t.Errorf("JSON alerts of the windowed rule: %+v", a)
				}
			}
			golden.Check(t, tt.golden, out.Bytes())
		})
	}
}

// TestRulesTestModes: `rules test` runs a file's tests, evaluates an events stream when
// one is given, or both; exit status 1 when a test fails, 2 for an invalid file.
func TestRulesTestModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.yaml")
	writeFile(t, plain, "- {id: mine, scope: c-2, threshold: 1, when: {path: $.type}}\n")
	badTest := filepath.Join(dir, "bad-test.yaml")
	writeFile(t, badTest, "- id: mine\n  scope: c-2\n  threshold: 1\n  when: {path: $.type}\n  tests:\n    - name: x\n      events: [{type: a}]\n      expect: {alerts: -1}\n")
	badDest := filepath.Join(dir, "bad-destination.yaml")
	writeFile(t, badDest, "rules:\n  - {id: mine, scope: c-2, threshold: 1, when: {path: $.type}}\ndestination:\n  - {scope: \"*\", name: ops, type: webhook, url: \"https://example.com/h\"}\n")
	events := `{"customer":"c-2","type":"mfa.disabled"}` + "\n"
	eventsFile := filepath.Join(dir, "events.ndjson")
	writeFile(t, eventsFile, events)

	const (
		passed   = "PASS\nok  testdata/rules-with-tests.yaml  8 tests\n"
		failed   = "FAIL\nFAIL testdata/rules-tests-failing.yaml  3 of 5 tests failed\n"
		matched  = "stdin:1: customer c-2: */mfa-disabled@v1\n"
		fromFile = "events.ndjson:1: customer c-2: */mfa-disabled@v1\n"
		summary  = "1 event (0 skipped), 5 rules"
	)
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  []string // in this order
		not   []string
	}{
		{"tests alone", []string{"rules", "test", "-f", testedRules}, "", 0, []string{passed}, []string{"events ("}},
		{"failing tests", []string{"rules", "test", "-f", failingRules}, "", 1,
			[]string{"--- PASS: mfa-disabled/the second one alerts\n", "--- FAIL: burst-of-failed-logins/three failures fire once\n", failed}, nil},
		{"tests, then events from stdin", []string{"rules", "test", "-f", testedRules}, events, 0, []string{passed, "\n" + matched, summary}, nil},
		{"tests, then events from a file", []string{"rules", "test", "-f", testedRules, eventsFile}, "", 0, []string{passed, fromFile, summary}, nil},
		{"failing tests, then events", []string{"rules", "test", "-f", failingRules, "-"}, events, 1, []string{failed, matched, "2 rules"}, nil},
		{"no tests, no events", []string{"rules", "test", "-f", plain}, "", 0, []string{"?   " + plain + "  [no tests]\n"}, []string{"events ("}},
		{"no tests, events", []string{"rules", "test", "-f", plain}, `{"customer":"c-2","type":"a"}`, 0,
			[]string{"stdin:1: customer c-2: c-2/mine@v1\n"}, []string{"no tests", "PASS"}},
		{"JSON: tests, then events", []string{"rules", "test", "--json", "-f", failingRules}, events, 1,
			[]string{`{"file":"testdata/rules-tests-failing.yaml","pass":false,"tests":5,"failed":3,"results":[`, "\n" + `{"customer":"c-2","line":1,"rules":["*/mfa-disabled"]}` + "\n"}, []string{"=== RUN"}},
		{"JSON: no tests, events", []string{"rules", "test", "--json", "-f", plain}, events, 0,
			[]string{`{"customer":"c-2","line":1,"rules":["c-2/mine"]}`}, []string{`"results"`}},
		{"invalid test", []string{"rules", "test", "-f", badTest}, "", 2, nil, []string{"=== RUN"}},
		// What `rules apply` refuses (a misspelt destinations key) is no pass.
		{"invalid destinations", []string{"rules", "test", "-f", badDest}, "", 2, nil, []string{"=== RUN", "no tests"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, tt.stdin, tt.args...)
			if code := exitCode(err); code != tt.code {
				t.Fatalf("exit %d (%v), want %d; output:\n%s", code, err, tt.code, out)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in this order: %q):\n%s", w, tt.want, out)
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}

	_, err := run(t, "", "rules", "test", "-f", failingRules)
	var tf *testsFailedError
	if !errors.As(err, &tf) || err.Error() != "testdata/rules-tests-failing.yaml: 3 of 5 rule tests failed" {
		t.Errorf("failing tests: %v", err)
	}
	_, err = run(t, "", "rules", "test", "-f", badTest)
	if want := `bad-test.yaml:8: rule #1 (id "mine"): invalid rule "mine": tests[0].expect.alerts: -1 is neither`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("invalid test: %v; want %q", err, want)
	}
}

// TestRulesTestStdin: without an EVENTS argument, stdin is events only when it is
// redirected from a non-empty file or piped; a terminal or /dev/null is not.
func TestRulesTestStdin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty, full := filepath.Join(dir, "empty"), filepath.Join(dir, "full")
	writeFile(t, empty, "")
	writeFile(t, full, "{}\n")
	tests := []struct {
		name   string
		stdin  string
		events bool
	}{
		{"/dev/null", os.DevNull, false},
		{"an empty file", empty, false},
		{"a file", full, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(tt.stdin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			events, _, done, err := rulesTestEvents(context.Background(), f, nil)
			defer done()
			if err != nil || (events != nil) != tt.events {
				t.Errorf("events %v, %v; want events: %v", events != nil, err, tt.events)
			}
		})
	}
}

// TestRulesApplyRunsTests: apply refuses a file whose tests fail, publishing nothing,
// unless --skip-tests; a file whose tests pass publishes controls that are exactly those
// of its rules without tests. Against a real broker on loopback.
func TestRulesApplyRunsTests(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})

	out, err := run(t, "", "rules", "apply", "-f", failingRules, "--brokers", b.Addr)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "3 of 5 rule tests failed") {
		t.Errorf("failing tests: exit %d, %v\n%s", exitCode(err), err, out)
	}
	if !strings.Contains(out, "--- FAIL: burst-of-failed-logins/three failures fire once\n") || strings.Contains(out, "published") {
		t.Errorf("apply of failing tests printed:\n%s", out)
	}
	if n := b.TopicRecords(t, "controls"); n != 0 {
		t.Fatalf("failing tests published %d controls", n)
	}

	out, err = run(t, "", "rules", "apply", "-f", failingRules, "--skip-tests", "--brokers", b.Addr)
	if err != nil || !strings.Contains(out, "skipped    5 tests of testdata/rules-tests-failing.yaml (--skip-tests)\n") || strings.Count(out, "published  ") != 2 {
		t.Errorf("--skip-tests: %v\n%s", err, out)
	}
	b.WaitTopicRecords(t, "controls", 2, 10*time.Second)

	// A file whose tests pass, on a broker of its own: its rules share ids with the
	// ones just published, with other thresholds and the same version.
	b = kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	out, err = run(t, "", "rules", "apply", "-f", testedRules, "--brokers", b.Addr)
	if err != nil || !strings.Contains(out, "tested     testdata/rules-with-tests.yaml: 8 tests passed\n") || strings.Count(out, "published  ") != 5 {
		t.Fatalf("passing tests: %v\n%s", err, out)
	}
	recs := b.Consume(t, "controls", 5, 10*time.Second)
	if len(recs) != 5 {
		t.Fatalf("%d controls, want 5", len(recs))
	}

	// The same rules without their tests, as JSON: the controls just published are
	// theirs, byte for byte, and applying them changes nothing.
	bare := filepath.Join(t.TempDir(), "bare.json")
	writeFile(t, bare, string(withoutTests(t, testedRules)))
	rules, err := rule.ReadRulesFile(bare)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rules {
		want, err := rule.Upsert(r).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if got := recs[i]; string(got.Key) != r.Key().String() || !bytes.Equal(got.Value, want) {
			t.Errorf("control %d: %s %s\n want %s %s", i, got.Key, got.Value, r.Key(), want)
		}
	}
	out, err = run(t, "", "rules", "apply", "-f", bare, "--brokers", b.Addr)
	if err != nil || strings.Count(out, "unchanged  ") != 5 || strings.Contains(out, "published") || strings.Contains(out, "tested") {
		t.Errorf("apply of the same rules without tests: %v\n%s", err, out)
	}
}

// withoutTests is the rules file at path as JSON, without its rules' tests keys.
func withoutTests(t *testing.T, path string) []byte {
	t.Helper()
	var doc struct {
		Rules []map[string]any `yaml:"rules"`
	}
	if err := yaml.Unmarshal(mustRead(t, path), &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc.Rules {
		if _, ok := r["tests"]; !ok {
			t.Fatalf("rule %v has no tests", r["id"])
		}
		delete(r, "tests")
	}
	js, err := json.Marshal(map[string]any{"rules": doc.Rules})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRulesTestStreamWindowed: in the events-stream mode a windowed, grouped rule's
// customers are those the evaluator alerts for, per window, not those whose number of
// matches passes the threshold. Lines are one second apart (the record time of a line
// is its tests: block counterpart's), so the two-second windows below hold two
// events of u1 for c-1 twice, and c-2's three matches never share a window.
func TestRulesTestStreamWindowed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(`rules:
  - {id: pairs, scope: "*", when: {path: $.type, op: ==, value: x}, group_by: [$.user], window: {size: 2s}, threshold: 2}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	events := strings.Join([]string{
		`{"customer":"c-1","type":"x","user":"u1"}`, // 00:00:00, window [0s, 2s)
		`{"customer":"c-1","type":"x","user":"u1"}`, // 00:00:01: the window's second: an alert
		`{"customer":"c-2","type":"x","user":"u1"}`, // 00:00:02, window [2s, 4s)
		`{"customer":"c-2","type":"y","user":"u1"}`,
		`{"customer":"c-1","type":"x","user":"u1"}`, // 00:00:04, window [4s, 6s)
		`{"customer":"c-1","type":"x","user":"u1"}`, // 00:00:05: an alert
		`{"customer":"c-2","type":"x","user":"u1"}`, // 00:00:06
		`{"customer":"c-2","type":"x","user":"u2"}`, // 00:00:07, another group
	}, "\n")
	var out bytes.Buffer
	sum, err := runRulesTest(context.Background(), rulesTestConfig{RulesFile: rules, Events: strings.NewReader(events), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	got := sum.Alerts[rule.Key{Scope: "*", ID: "pairs"}]
	if len(got) != 1 || got["c-1"] != 2 {
		t.Errorf("alerts per customer %v, want c-1: 2", got)
	}
	if !strings.Contains(out.String(), "c-1 (2 alerts)") || strings.Contains(out.String(), "c-2 (") {
		t.Errorf("summary does not name c-1 with its 2 alerts alone:\n%s", out.String())
	}
}

// TestRulesTestShowsLimitDrops: a rule whose limits.max_groups is reached drops
// contributions, as live does, where live shows the rule degraded: `rules test` says so
// too, in the summary, in --json's last records and under a failing test; its alert
// count is otherwise a lower bound read as the answer.
func TestRulesTestShowsLimitDrops(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const r = `{id: pairs, scope: "*", when: {path: $.type, op: ==, value: x}, group_by: [$.user], window: {size: 10s}, threshold: 2, limits: {max_groups: 1}`
	rules := filepath.Join(dir, "rules.yaml")
	writeFile(t, rules, "rules:\n  - "+r+"}\n")
	events := strings.Join([]string{
		`{"customer":"c-1","type":"x","user":"u1"}`,
		`{"customer":"c-1","type":"x","user":"u2"}`, // a second open group: beyond max_groups, dropped
		`{"customer":"c-1","type":"x","user":"u2"}`, // dropped: u2's pair never alerts
	}, "\n")
	const why = "group limit 1 reached: 2 contributions to new groups not counted"
	for _, asJSON := range []bool{false, true} {
		var out bytes.Buffer
		sum, err := runRulesTest(context.Background(), rulesTestConfig{RulesFile: rules, Events: strings.NewReader(events), Out: &out, JSON: asJSON})
		if err != nil {
			t.Fatal(err)
		}
		if got := sum.Degraded[rule.Key{Scope: "*", ID: "pairs"}]; got != why || !strings.Contains(out.String(), why) {
			t.Errorf("json %v: degraded %q, report:\n%s\nwant it to say %q", asJSON, got, out.String(), why)
		}
	}
	tests := filepath.Join(dir, "tests.yaml")
	writeFile(t, tests, "- "+r+`, tests: [{name: pair, customer: c-1, events: [{type: x, user: u1}, {type: x, user: u2}, {type: x, user: u2}], expect: {alerts: 1}}]}`+"\n")
	out, err := run(t, "", "rules", "test", "-f", tests)
	if err == nil || !strings.Contains(out, "2 contributions to new groups not counted (limits.max_groups reached)") {
		t.Errorf("a test failing at the group limit: err %v, report:\n%s", err, out)
	}
}

// TestRulesTestLimitFlags: --max-groups, --max-distinct and --max-key-bytes bound the events' state as
// the daemon's flags do, so that `rules test` calls a rule degraded where live would;
// the rules' tests: blocks keep the defaults. Before the flags, a daemon run with a
// lower limit degraded a rule that rules test said was whole.
func TestRulesTestLimitFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const r = `{id: users, scope: "*", when: {path: $.type, op: ==, value: x}, group_by: [$.user], window: {size: 10s}, threshold: 1,
    aggregate: {fn: count_distinct, path: $.ip}`
	rules := filepath.Join(dir, "rules.yaml")
	writeFile(t, rules, "rules:\n  - "+r+`, tests: [{name: three, customer: c-1, events: [{type: x, user: u1, ip: a}, {type: x, user: u2, ip: a}, {type: x, user: u3, ip: a}], expect: {alerts: 3}}]}`+"\n")
	events := strings.Join([]string{
		`{"customer":"c-1","type":"x","user":"u1","ip":"a"}`,
		`{"customer":"c-1","type":"x","user":"u1","ip":"b"}`,
		`{"customer":"c-1","type":"x","user":"u2","ip":"a"}`,
		`{"customer":"c-1","type":"x","user":"u3","ip":"a"}`,
	}, "\n") + "\n"
	for _, tt := range []struct {
		flags []string
		want  string // "": not degraded
	}{
		{nil, ""},
		{[]string{"--max-groups", "2"}, "group limit 2 reached: 1 contributions to new groups not counted"},
		{[]string{"--max-distinct", "1"}, "distinct value limit 1 reached: 1 new values not counted"},
		{[]string{"--max-key-bytes", "2"}, "key limit 2 bytes reached: 4 events whose group_by values or count_distinct value are longer not counted"},
	} {
		out, err := run(t, events, append([]string{"rules", "test", "-f", rules, "--json", "-"}, tt.flags...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tt.flags, err, out)
		}
		if !strings.Contains(out, `"pass":true,"tests":1,"failed":0`) {
			t.Errorf("%v: the rule's test (default limits) did not pass:\n%s", tt.flags, out)
		}
		degraded := strings.Contains(out, `"degraded"`)
		if tt.want == "" && degraded || tt.want != "" && !strings.Contains(out, tt.want) {
			t.Errorf("%v: want degraded %q, printed:\n%s", tt.flags, tt.want, out)
		}
	}
}

// TestRulesTestSkippedEvents: events whose customer cannot be told are counted by
// why, and a stream whose every event was skipped fails the run instead of passing by
// evaluating nothing; --key-separator reads kcat-style KEY|JSON lines.
func TestRulesTestSkippedEvents(t *testing.T) {
	t.Parallel()
	out, err := run(t, `{"type":"login.failed"}`+"\n"+`{"type":"x"}`+"\n", "rules", "test", "-f", "../../testdata/rules/sample.yaml", "-")
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "no event evaluated: all 2 events of stdin were skipped") {
		t.Errorf("all skipped: exit %d, %v", exitCode(err), err)
	}
	if !strings.Contains(out, "2 events (2 skipped), 7 rules\nskipped 2 events: no customer at $.customer (give --customer, --customer-path, or KEY|JSON lines with --key-separator '|')\n") {
		t.Errorf("all skipped printed:\n%s", out)
	}
	out, err = run(t, `c-1|{"type":"login.failed"}`+"\n"+`{"type":"x"}`+"\n", "rules", "test", "-f", "../../testdata/rules/sample.yaml", "--key-separator", "|", "-")
	if err != nil || !strings.Contains(out, "stdin:1: customer c-1: */failed-login-burst@v1\n") ||
		!strings.Contains(out, "2 events (1 skipped), 7 rules\nskipped 1 event: no \"|\" between key and event\n") {
		t.Errorf("--key-separator: %v\n%s", err, out)
	}
}

// TestRulesTestSkipsLongCustomers: a customer longer than --max-customer-bytes, from
// the event or its key, is skipped as live dead-letters its record (key_too_long), and
// the flag moves the bound as live's does. Not parallel: the rule limits are the
// process's (rule.SetLimits), and its --max-customer-bytes 2000 moved them under the
// parallel tests, as theirs moved them under its runs (one failure in six).
func TestRulesTestSkipsLongCustomers(t *testing.T) {
	prev := rule.CurrentLimits()
	t.Cleanup(func() { _ = rule.SetLimits(prev) }) // its 2000 stays out of the tests after it
	long := strings.Repeat("c", 1100)
	events := `{"customer":"` + long + `","type":"login.failed"}` + "\n" + `{"customer":"c-1","type":"login.failed"}` + "\n"
	const why = "customer longer than --max-customer-bytes (live: key_too_long)"
	out, err := run(t, events, "rules", "test", "-f", "../../testdata/rules/sample.yaml", "-")
	if err != nil || !strings.Contains(out, "2 events (1 skipped)") || !strings.Contains(out, "skipped 1 event: "+why) {
		t.Errorf("a customer of 1,100 bytes: %v\n%s", err, out)
	}
	out, err = run(t, long+"|"+`{"type":"login.failed"}`+"\n", "rules", "test", "-f", "../../testdata/rules/sample.yaml", "--key-separator", "|", "-")
	if exitCode(err) != 1 || !strings.Contains(out, "skipped 1 event: "+why) {
		t.Errorf("a key of 1,100 bytes: %v\n%s", err, out)
	}
	out, err = run(t, events, "rules", "test", "-f", "../../testdata/rules/sample.yaml", "--max-customer-bytes", "2000", "-")
	if err != nil || !strings.Contains(out, "2 events (0 skipped)") {
		t.Errorf("--max-customer-bytes 2000: %v\n%s", err, out)
	}
}

// TestRulesTestReadsOnPastALongLine: a line longer than --max-line-bytes is skipped
// with its number, and the events after it are evaluated. bufio.Scanner's bound of
// 16 MiB stopped the run at the first such line: "reading stdin: bufio.Scanner: token
// too long", exit 2, the events after it never read.
func TestRulesTestReadsOnPastALongLine(t *testing.T) {
	t.Parallel()
	event := `{"customer":"c-1","type":"login.failed"}` + "\n"
	long := `{"customer":"c-1","type":"login.failed","pad":"` + strings.Repeat("p", 17<<20) + `"}` + "\n"
	out, err := run(t, event+long+event, "rules", "test", "-f", "../../testdata/rules/sample.yaml", "-")
	for _, want := range []string{"stdin:1: customer c-1: */failed-login-burst@v1\n",
		fmt.Sprintf("stdin:2: skipped: line too long: %d bytes, more than --max-line-bytes %d\n", len(long)-1, 16<<20),
		"stdin:3: customer c-1: */failed-login-burst@v1\n",
		"3 events (1 skipped), 7 rules\nskipped 1 event: longer than --max-line-bytes (16777216 bytes)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("rules test printed\n%s\nlacking %q (%v)", out, want, err)
		}
	}
	if err != nil {
		t.Errorf("exit %d: %v", exitCode(err), err)
	}
	out, err = run(t, event+event, "rules", "test", "-f", "../../testdata/rules/sample.yaml", "--max-line-bytes", "20", "-")
	if exitCode(err) != 1 || !strings.Contains(out, "2 events (2 skipped)") {
		t.Errorf("--max-line-bytes 20: exit %d (%v)\n%s", exitCode(err), err, out)
	}
}
