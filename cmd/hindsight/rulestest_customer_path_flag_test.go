package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesTestCustomerPathFlag: --customer-path selects each event's customer. No
// test gave it another value than its default, so a mutant that dropped it on the way
// to rulecheck.Stream (every event's customer read at $.customer whatever was asked)
// survived.
func TestRulesTestCustomerPathFlag(t *testing.T) {
	t.Parallel()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("- {id: r, scope: '*', threshold: 2, when: {path: $.type, op: ==, value: x}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	events := `{"type":"x","customer":"wrong","account":{"id":"acme"}}` + "\n" +
		`{"type":"x","customer":"wrong","account":{"id":"acme"}}` + "\n"
	out, err := run(t, events, "rules", "test", "-f", rules, "--customer-path", "$.account.id", "-")
	if err != nil {
		t.Fatalf("rules test --customer-path $.account.id: %v\n%s", err, out)
	}
	for _, want := range []string{"stdin:1: customer acme: */r@v1", "stdin:2: customer acme: */r@v1", "acme (2)"} {
		if !strings.Contains(out, want) {
			t.Errorf("rules test --customer-path $.account.id: report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "wrong") {
		t.Errorf("rules test --customer-path $.account.id: the customer was read at $.customer:\n%s", out)
	}
}
