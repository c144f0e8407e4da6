package rulecheck_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestStreamHoldsMaxCustomers: --max-customers 2 holds the first two customers' counts
// of a rule, the third's match counted as cut; a negative bound holds them all.
func TestStreamHoldsMaxCustomers(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`
- {id: plain, scope: "*", threshold: 1, when: {path: $.type, op: ==, value: x}}
`))
	if err != nil {
		t.Fatal(err)
	}
	plain := rule.Key{Scope: "*", ID: "plain"}
	events := strings.Join([]string{`{"customer":"c1","type":"x"}`, `{"customer":"c2","type":"x"}`, `{"customer":"c3","type":"x"}`, `{"customer":"c1","type":"x"}`}, "\n")
	for _, tc := range []struct {
		max     int
		want    map[string]int64
		wantCut rulecheck.Cut
	}{
		{2, map[string]int64{"c1": 2, "c2": 1}, rulecheck.Cut{Matches: 1}},
		{-1, map[string]int64{"c1": 2, "c2": 1, "c3": 1}, rulecheck.Cut{}},
	} {
		sum, err := rulecheck.Stream(context.Background(), rulecheck.StreamConfig{Rules: rules, Events: strings.NewReader(events), MaxCustomers: tc.max}, func(*rulecheck.Line) {})
		if err != nil {
			t.Fatal(err)
		}
		if got := sum.Counts[plain]; !maps.Equal(got, tc.want) || sum.Cut[plain] != tc.wantCut {
			t.Errorf("MaxCustomers %d: counts %v, cut %+v; want %v, cut %+v", tc.max, got, sum.Cut[plain], tc.want, tc.wantCut)
		}
	}
}

// TestCompareValueNearZero: a value is matched within valueTolerance of the larger
// value, and within it absolutely below 1: an average of +x and -x, whose last digits
// depend on the order of additions, matches an expected 0.
func TestCompareValueNearZero(t *testing.T) {
	zero := 0.0
	exp := rule.TestExpect{Alerts: 1, List: []rule.ExpectedAlert{{Value: &zero}}}
	for _, tc := range []struct {
		got  float64
		want int // problems
	}{
		{1e-12, 0},
		{-1e-12, 0},
		{1e-6, 1},
	} {
		if p := rulecheck.Compare("f", exp, []contract.Alert{{Value: tc.got}}); len(p) != tc.want {
			t.Errorf("value %g against an expected 0: problems %q, want %d", tc.got, p, tc.want)
		}
	}
}
