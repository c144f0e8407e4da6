package rulecheck_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestStream evaluates a plain count and a windowed rule over a stream with a blank
// line and three lines that are no event: each line is reported once, in order, the
// skipped ones with why; the counts and the windowed rule's alerts are those of the
// events.
func TestStream(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`
- {id: fails, scope: "*", threshold: 2, when: {path: $.type, op: ==, value: login.failed}}
- id: burst
  scope: "*"
  threshold: 2
  group_by: [$.user]
  window: {size: 1m}
  when: {path: $.type, op: ==, value: login.failed}
`))
	if err != nil {
		t.Fatal(err)
	}
	events := strings.Join([]string{
		`{"customer":"c-1","type":"login.failed","user":"a"}`,
		``,
		`{"customer":"c-1","type":"login.failed","user":"a"}`,
		`{"customer":"c-2","type":"login.ok","user":"b"}`,
		`{not json`,
		`{"type":"login.failed"}`,
		`{"customer":"c-2","type":"login.failed","user":"b"}`,
	}, "\n")
	var got []string
	sum, err := rulecheck.Stream(context.Background(), rulecheck.StreamConfig{Rules: rules, Events: strings.NewReader(events)}, func(l *rulecheck.Line) {
		var ids []string
		for _, r := range l.Matched {
			ids = append(ids, r.ID)
		}
		s := fmt.Sprintf("%d %s %v", l.Number, l.Customer, ids)
		if l.Err != nil {
			s = fmt.Sprintf("%d skipped: %s", l.Number, l.Skipped)
		}
		got = append(got, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 c-1 [burst fails]",
		"3 c-1 [burst fails]",
		"4 c-2 []",
		"5 skipped: not one JSON object",
		"6 skipped: no customer at $.customer (give --customer, --customer-path, or KEY|JSON lines with --key-separator '|')",
		"7 c-2 [burst fails]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sum.Events != 6 || sum.Invalid != 2 {
		t.Errorf("events %d, invalid %d; want 6 and 2", sum.Events, sum.Invalid)
	}
	fails, burst := rule.Key{Scope: "*", ID: "fails"}, rule.Key{Scope: "*", ID: "burst"}
	if c := sum.Counts[fails]; !maps.Equal(c, map[string]int64{"c-1": 2, "c-2": 1}) {
		t.Errorf("counts of fails: %v", c)
	}
	// The three events fall in one minute (record times 1s apart): user a's window
	// reaches 2, user b's does not.
	if a := sum.Alerts[burst]; !maps.Equal(a, map[string]int{"c-1": 1}) {
		t.Errorf("alerts of burst: %v", a)
	}
	if _, ok := sum.Alerts[fails]; ok {
		t.Error("a plain count has alerts in the summary: its customers at threshold come from Counts")
	}
}

// TestStreamKeyedLines: KEY|JSON lines are taken as live takes the record (key, value):
// the key is the customer, refused when empty or not UTF-8, and nothing is trimmed, so
// an event wrapped in a Unicode space is not one.
func TestStreamKeyedLines(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`- {id: any, scope: "*", threshold: 1, when: {path: $.type}}`))
	if err != nil {
		t.Fatal(err)
	}
	lines := []struct{ text, skipped string }{
		{`c-9|{"type":"x"}`, ""},
		{`c-9|  {"type":"x"}` + "\r", ""},
		{"no separator", `no "|" between key and event`},
		{`|{"type":"x"}`, "no key before the separator (live: missing_key)"},
		{"c-\xff|" + `{"type":"x"}`, "key not UTF-8 (live: invalid_key)"},
		{"c-9|\u00a0" + `{"type":"x"}`, "not one JSON object"},
		{"c-9|" + strings.Repeat("[", 2000) + strings.Repeat("]", 2000), "nested deeper than the JSON engine allows (live: too_deep)"},
	}
	var text []string
	for _, l := range lines {
		text = append(text, l.text)
	}
	var got []string
	sum, err := rulecheck.Stream(context.Background(), rulecheck.StreamConfig{Rules: rules, KeySeparator: "|", Events: strings.NewReader(strings.Join(text, "\n"))},
		func(l *rulecheck.Line) {
			if (l.Err == nil) != (l.Skipped == "") {
				t.Errorf("line %d: error %v with skip reason %q", l.Number, l.Err, l.Skipped)
			}
			got = append(got, l.Skipped)
		})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		if i >= len(got) || got[i] != l.skipped {
			t.Errorf("line %d %q: skipped %q, want %q", i+1, l.text, got[min(i, len(got)-1)], l.skipped)
		}
	}
	if n := sum.Counts[rule.Key{Scope: "*", ID: "any"}]["c-9"]; n != 2 || len(got) != len(lines) {
		t.Errorf("count %d over %d lines reported; want 2 over %d", n, len(got), len(lines))
	}
}
