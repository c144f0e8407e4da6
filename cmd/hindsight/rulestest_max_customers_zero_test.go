package main

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestRulesTestSummaryNamesTheDefaultBoundForZero: --max-customers 0 is "the default"
// (rulecheck.DefaultMaxCustomers), and the summary's line about a rule that reached it
// names the bound in force, not the 0 given. No test reached the bound with 0 given (it
// takes 100,000 customers), so a mutant that left 0 in the message survived: the
// summary is printed here from a Summary that reached it.
func TestRulesTestSummaryNamesTheDefaultBoundForZero(t *testing.T) {
	t.Parallel()
	rules, err := rule.ReadRulesFile(tempFile(t, "rules.yaml", "- {id: p, scope: '*', threshold: 2, when: {path: $.type, op: ==, value: x}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := rule.NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	r := rules[0]
	sum := &rulecheck.Summary{Events: 3, Counts: map[rule.Key]map[string]int64{r.Key(): {"c1": 2}},
		Cut: map[rule.Key]rulecheck.Cut{r.Key(): {Matches: 1}}}
	var out strings.Builder
	printRulesTestSummary(&out, set, sum, 0)
	want := "*/p: --max-customers (100000) reached: 1 match of other customers not counted"
	if !strings.Contains(out.String(), want) {
		t.Errorf("summary with --max-customers 0 (the default) reached lacks %q:\n%s", want, out.String())
	}
}
