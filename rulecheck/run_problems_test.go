package rulecheck_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestCompareStatusAndNoAlerts: a listed alert's status must be the raised alert's
// (TestRun's file only has passing tests, so Compare ignoring status went unseen), and
// a test expecting no alert says "0 alerts", a plural.
func TestCompareStatusAndNoAlerts(t *testing.T) {
	alerts := []contract.Alert{
		{Customer: "c-1", Value: 3, Status: contract.StatusFiring},
		{Customer: "c-1", Value: 3, Status: contract.StatusResolved},
	}
	for _, tt := range []struct {
		name string
		exp  rule.TestExpect
		want []string
	}{
		{"each status once", rule.TestExpect{Alerts: 2, List: []rule.ExpectedAlert{
			{Status: contract.StatusResolved}, {Status: contract.StatusFiring},
		}}, nil},
		{"resolved twice", rule.TestExpect{Alerts: 2, List: []rule.ExpectedAlert{
			{Status: contract.StatusResolved, Line: 8}, {Status: contract.StatusResolved, Line: 9},
		}}, []string{`f:9: expect.alerts[1] {status: resolved} matches none of the alerts raised (alert 2 matches, but is expect.alerts[0]'s)`}},
		{"none expected", rule.TestExpect{Alerts: 0, Line: 3}, []string{"f:3: want 0 alerts, got 2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := rulecheck.Compare("f", tt.exp, alerts)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

// TestRunProblemsNameTheEventAndTheWorkBudget: a failing test's problems name the event
// Run could not read by its index in events (from 0, as the file's tests[…].events[i]),
// and, when an evaluation of the rule's paths ran out of its work budget, say so with
// how many: the reason the rule may have missed the event. Not parallel: it relies on
// the process-wide work budget being the default.
func TestRunProblemsNameTheEventAndTheWorkBudget(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`- {id: nested-b, scope: "*", threshold: 1, when: {path: "$..a..b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	const depth, width = 990, 100_000
	deep := `{"x":` + strings.Repeat(`{"a":`, depth) + "[0" + strings.Repeat(",0", width-1) + "]" + strings.Repeat(`}`, depth) + `,"y":{"a":{"b":1}}}`
	tooDeep := strings.Repeat(`{"a":`, 1100) + "1" + strings.Repeat(`}`, 1100)
	rt := &rule.RuleTest{
		Rule: rules[0], Line: 4, Name: "t", Customer: "c-1",
		Events:     []json.RawMessage{json.RawMessage(`{"z":1}`), json.RawMessage(tooDeep), json.RawMessage(deep)},
		RecordTime: rule.DefaultTestRecordTime, Every: rule.DefaultTestEvery,
		Expect: rule.TestExpect{Alerts: 1, Line: 7},
	}
	res := rulecheck.Run("rules.yaml", rt)
	want := []string{
		"rules.yaml:4: events[1]: ",
		"rules.yaml:7: want 1 alert, got 0",
		"rules.yaml:4: events[2]: 1 evaluations of the rule's paths ran out of their work budget (--max-rule-eval-work): the rule may have missed the event, as live would",
	}
	if len(res.Problems) != len(want) {
		t.Fatalf("problems %q, want %d: the unreadable event, the count, the work budget", res.Problems, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(res.Problems[i], w) {
			t.Errorf("problem %d %q, want it to start %q", i, res.Problems[i], w)
		}
	}
	if !strings.Contains(res.Problems[0], "nesting deeper than 1000 levels") {
		t.Errorf("problem %q does not say why the event could not be read", res.Problems[0])
	}
}
