package rulecheck_test

import (
	"context"
	"errors"
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

func TestStreamKeyedLines(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`- {id: any, scope: c-9, threshold: 1, when: {path: $.type}}`))
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	sum, err := rulecheck.Stream(context.Background(), rulecheck.StreamConfig{Rules: rules, KeySeparator: "|",
		Events: strings.NewReader("c-9|{\"type\":\"x\"}\nno separator\n")}, func(l *rulecheck.Line) { errs = append(errs, l.Err) })
	if err != nil {
		t.Fatal(err)
	}
	if n := sum.Counts[rule.Key{Scope: "c-9", ID: "any"}]["c-9"]; n != 1 || len(errs) != 2 || errs[0] != nil || errs[1] == nil {
		t.Errorf("count %d, line errors %v; want 1 and [nil, an error]", n, errs)
	}
	if errors.Is(errs[1], rulecheck.ErrNoCustomer) {
		t.Errorf("a line without the separator: %v, not a missing customer", errs[1])
	}
}
