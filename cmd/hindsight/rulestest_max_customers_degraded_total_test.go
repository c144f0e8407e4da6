package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestRulesTestMaxCustomersDegradedMatchesTotal: a plain rule degraded by
// --max-counters shows as MATCHES what live counted (finish takes the replay's
// figures for the customers the summary holds). Past --max-customers, the matches of
// the customers not held are added raw, counters live never had included, so the same
// events give another MATCHES for the rule depending on the summary's bound: one
// verdict broken, and the "MATCHES has them" line says the total is whole.
func TestRulesTestMaxCustomersDegradedMatchesTotal(t *testing.T) {
	t.Parallel()
	rules := tempFile(t, "rules.yaml", `rules:
  - {id: p, scope: "*", when: {path: $.type, op: ==, value: x}, threshold: 2}
`)
	var ev strings.Builder
	for _, c := range []string{"c1", "c2", "c3", "c1", "c4", "c4", "c2", "c5", "c1"} {
		ev.WriteString(`{"customer":"` + c + `","type":"x"}` + "\n")
	}
	row := regexp.MustCompile(`(?m)^\*/p\s+1\s+>= 2\s+(\d+)\s`)
	matches := map[string]string{}
	for _, bound := range []string{"-1", "2"} {
		out, err := run(t, ev.String(), "rules", "test", "--max-counters", "2", "--max-customers", bound, "-f", rules, "-")
		if err != nil {
			t.Fatalf("rules test --max-customers %s: %v\n%s", bound, err, out)
		}
		if !strings.Contains(out, "degraded") {
			t.Fatalf("rules test --max-counters 2 did not degrade */p:\n%s", out)
		}
		m := row.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no */p row in:\n%s", out)
		}
		matches[bound] = m[1]
		t.Logf("--max-customers %s:\n%s", bound, out)
	}
	if matches["-1"] != matches["2"] {
		t.Errorf("MATCHES of the degraded */p is %s with --max-customers -1 and %s with --max-customers 2: the same events, another total", matches["-1"], matches["2"])
	}
}
