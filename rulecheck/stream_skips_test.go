package rulecheck_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestStreamSkipsEventsWithoutOneCustomer: without a key separator the customer is
// what --customer-path selects, and an event is skipped, with why, unless it selects
// exactly one non-empty string; an event nested too deep is skipped with live's
// too_deep reason, not as malformed JSON. (Taking the first of two customers, or
// passing an empty one on as live's missing_key, went unseen.)
func TestStreamSkipsEventsWithoutOneCustomer(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`- {id: any, scope: "*", threshold: 1, when: {path: $.type}}`))
	if err != nil {
		t.Fatal(err)
	}
	const noCustomer = "no customer at $.c[*] (give --customer, --customer-path, or KEY|JSON lines with --key-separator '|')"
	lines := []struct{ text, skipped string }{
		{`{"c":["c-1"],"type":"x"}`, ""},
		{`{"c":["c-1","c-2"],"type":"x"}`, noCustomer},
		{`{"c":[""],"type":"x"}`, noCustomer},
		{`{"c":[7],"type":"x"}`, noCustomer},
		{`{"type":"x"}`, noCustomer},
		{strings.Repeat("[", 2000) + strings.Repeat("]", 2000), "nested deeper than the JSON engine allows (live: too_deep)"},
		{`{"c":["c-1"],`, "not one JSON object"},
	}
	var text []string
	for _, l := range lines {
		text = append(text, l.text)
	}
	var got []string
	sum, err := rulecheck.Stream(context.Background(), rulecheck.StreamConfig{Rules: rules, CustomerPath: "$.c[*]", Events: strings.NewReader(strings.Join(text, "\n"))},
		func(l *rulecheck.Line) { got = append(got, l.Skipped) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(lines) {
		t.Fatalf("%d lines reported, want %d: %q", len(got), len(lines), got)
	}
	for i, l := range lines {
		if got[i] != l.skipped {
			t.Errorf("line %d %.40q: skipped %q, want %q", i+1, l.text, got[i], l.skipped)
		}
	}
	if c := sum.Counts[rule.Key{Scope: "*", ID: "any"}]; !maps.Equal(c, map[string]int64{"c-1": 1}) || sum.Invalid != len(lines)-1 {
		t.Errorf("counts %v, %d invalid; want c-1: 1 and %d invalid", c, sum.Invalid, len(lines)-1)
	}
}

// TestStreamAlertsLeaveResolvedOut: Summary.Alerts counts the alerts raised, as
// `rules test` reports them; a rule with alert.resolve also resolves its incident once
// the watermark passes it, and that resolution is no second alert.
func TestStreamAlertsLeaveResolvedOut(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`
- id: deletes
  scope: "*"
  when: {path: $.type, op: ==, value: file.deleted}
  window: {size: 5m}
  time: $.ts
  threshold: 3
  alert: {resolve: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, ts := range []string{"00:00:10", "00:00:20", "00:00:30", "00:03:00", "00:11:00"} {
		events = append(events, `{"customer":"c-4","type":"file.deleted","ts":"2026-01-01T`+ts+`Z"}`)
	}
	sum, err := rulecheck.Stream(context.Background(), rulecheck.StreamConfig{Rules: rules, Events: strings.NewReader(strings.Join(events, "\n"))}, func(*rulecheck.Line) {})
	if err != nil {
		t.Fatal(err)
	}
	if a := sum.Alerts[rule.Key{Scope: "*", ID: "deletes"}]; !maps.Equal(a, map[string]int{"c-4": 1}) {
		t.Errorf("alerts %v, want c-4: 1 (the burst fires once; its resolution is no alert)", a)
	}
}
