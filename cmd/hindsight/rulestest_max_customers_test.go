package main

import (
	"strings"
	"testing"
)

// TestRulesTestBoundsCustomers: rules test kept a count per rule and customer for every
// customer of the events, without bound (millions of customers, memory without limit)
// and no flag to set one. Past --max-customers a rule's counts take no new customer:
// the customers held keep exact counts (their later matches still counted), MATCHES
// stays the total, and a line says how many matches and alerts of other customers were
// not counted and that the customers at the threshold may lack some.
func TestRulesTestBoundsCustomers(t *testing.T) {
	t.Parallel()
	rules := tempFile(t, "rules.yaml", `rules:
  - {id: p, scope: "*", when: {path: $.type, op: ==, value: x}, threshold: 2}
  - {id: w, scope: "*", when: {path: $.type, op: ==, value: x}, window: {size: 1h}, threshold: 1}
`)
	var ev strings.Builder
	for _, c := range []string{"c1", "c2", "c3", "c1", "c4", "c4", "c2", "c5", "c1"} {
		ev.WriteString(`{"customer":"` + c + `","type":"x"}` + "\n")
	}
	out, err := run(t, ev.String(), "rules", "test", "--max-customers", "2", "-f", rules, "-")
	if err != nil {
		t.Fatalf("rules test: %v\n%s", err, out)
	}
	const want = `
9 events (0 skipped), 2 rules
RULE  VERSION  THRESHOLD  MATCHES  CUSTOMERS AT THRESHOLD
*/p   1        >= 2       9        c1 (3), c2 (2)
*/w   1        >= 1       9        c1 (1 alert), c2 (1 alert)
*/p: --max-customers (2) reached: 4 matches of other customers not counted (MATCHES has them): the counts listed are whole, customers beyond them at the threshold are missing
*/w: --max-customers (2) reached: 3 alerts of other customers not listed: the customers listed are whole, others are missing
`
	if !strings.HasSuffix(out, want) {
		t.Errorf("rules test summary:\n%s\nwant it to end:\n%s", out, want)
	}

	// Under the bound, nothing is cut and nothing is said.
	out, err = run(t, ev.String(), "rules", "test", "-f", rules, "-")
	if err != nil {
		t.Fatalf("rules test: %v\n%s", err, out)
	}
	if !strings.Contains(out, "c1 (3), c2 (2), c4 (2)") || strings.Contains(out, "--max-customers") {
		t.Errorf("rules test with the default bound:\n%s", out)
	}
	if help, _ := run(t, "", "rules", "test", "--help"); !strings.Contains(help, "(default 100000)") || !strings.Contains(help, "--max-customers") {
		t.Errorf("rules test --help does not show --max-customers and its default:\n%s", help)
	}
}
