package rulecheck_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestStreamCutShortCountsRulePathsOnly: Line.CutShort and Summary.CutShort count the
// evaluations of rule paths cut short by the work budget, as live counts them. The
// customer path (--customer-path) is no rule path, and live never evaluates it (the
// customer is the record key): its evaluation running out of the budget on an event
// says nothing of a rule missing the event. Here the one rule reads $.customer (a
// simple path, which no budget cuts short) and matches; only the customer path
// ($['customer', ?@..a..b]: the member, then a filter over the deep member) runs out.
func TestStreamCutShortCountsRulePathsOnly(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`- {id: any, scope: "*", threshold: 1, when: {path: $.customer}}`))
	if err != nil {
		t.Fatal(err)
	}
	const depth, width = 990, 100_000
	deep := `{"customer":"c-1","x":` + strings.Repeat(`{"a":`, depth) + "[0" + strings.Repeat(",0", width-1) + "]" + strings.Repeat(`}`, depth) + `}`
	var lines []*rulecheck.Line
	sum, err := rulecheck.Stream(context.Background(), rulecheck.StreamConfig{Rules: rules, CustomerPath: `$['customer', ?@..a..b]`, Events: strings.NewReader(deep)},
		func(l *rulecheck.Line) {
			c := *l
			c.Matched = append(c.Matched[:0:0], l.Matched...)
			lines = append(lines, &c)
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Err != nil || lines[0].Customer != "c-1" || len(lines[0].Matched) != 1 {
		t.Fatalf("lines %+v: want one event of c-1 that the rule matched (the test shows nothing)", lines)
	}
	if lines[0].CutShort != 0 || sum.CutShort != 0 {
		t.Errorf("line's CutShort %d, summary's %d; want 0 and 0: no rule path ran out of its work budget (the rule matched), only the customer path did",
			lines[0].CutShort, sum.CutShort)
	}
}
