package rulecheck_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
	"github.com/hindsightdev/hindsight/window"
)

// TestStreamStats: a windowed rule's matches its windows did not count, one without a
// usable time and one late, are in the Summary's Stats, as backtest reports and live
// counts them; a plain count and a windowed rule that counted all its matches have no
// entry. Before, Stream kept only Degraded, and rules test showed three matches at a
// threshold of 2, no alert, and nothing to say why.
func TestStreamStats(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`
- {id: plain, scope: "*", threshold: 2, when: {path: $.type, op: ==, value: x}}
- {id: burst, scope: "*", threshold: 2, group_by: [$.u], window: {size: 10m}, time: $.ts, when: {path: $.type, op: ==, value: x}}
- {id: whole, scope: "*", threshold: 2, group_by: [$.u], window: {size: 10m}, when: {path: $.type, op: ==, value: x}}
`))
	if err != nil {
		t.Fatal(err)
	}
	events := strings.Join([]string{
		`{"customer":"c1","type":"x","u":"a","ts":"2026-01-01T00:00:00Z"}`,
		`{"customer":"c1","type":"x","u":"a","ts":"yesterday"}`,
		`{"customer":"c1","type":"x","u":"a","ts":"2025-01-01T00:00:00Z"}`,
	}, "\n")
	sum, err := rulecheck.Stream(context.Background(), rulecheck.StreamConfig{Rules: rules, Events: strings.NewReader(events)}, func(*rulecheck.Line) {})
	if err != nil {
		t.Fatal(err)
	}
	burst := rule.Key{Scope: "*", ID: "burst"}
	if got, want := sum.Stats[burst], (window.Stats{Late: 1, TimeErrors: 1}); got != want {
		t.Errorf("burst's stats %+v, want %+v", got, want)
	}
	if n := sum.Counts[burst]["c1"]; n != 3 {
		t.Errorf("burst's matches %d, want 3 (the late one and the one without a time among them)", n)
	}
	if len(sum.Alerts[burst]) != 0 {
		t.Errorf("burst's alerts %v, want none: one counted match of 2", sum.Alerts[burst])
	}
	if len(sum.Stats) != 1 {
		t.Errorf("stats for %v, want burst's alone", sum.Stats)
	}
}
