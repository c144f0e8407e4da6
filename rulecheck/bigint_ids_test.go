package rulecheck_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestRulesTestTellsBigIntegerIDsApart: rules test gives live's verdict on 64-bit ids
// (integers beyond 2^53): two users one apart are two groups, and an alert's group
// and context show the id its event held, which is what an expectation written with
// that id matches — not the float64 neighbour 1234567890123456800.
func TestRulesTestTellsBigIntegerIDsApart(t *testing.T) {
	const file = `rules:
  - id: per-user
    scope: "*"
    when: {path: $.type, op: ==, value: login.failed}
    group_by: [$.user]
    window: {size: 10m}
    threshold: 2
    alert: {context: [$.user]}
    tests:
      - name: two users one apart
        customer: c-1
        events:
          - {type: login.failed, user: 1234567890123456789}
          - {type: login.failed, user: 1234567890123456790}
          - {type: login.failed, user: 1234567890123456789}
        expect:
          alerts:
            - {group: {$.user: 1234567890123456789}, value: 2, context: {$.user: 1234567890123456789}}
`
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := rule.ReadRulesFileTests(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tests) != 1 {
		t.Fatalf("%d tests, want 1", len(f.Tests))
	}
	res := rulecheck.Run(f.Name, f.Tests[0])
	if len(res.Problems) > 0 {
		var shown []string
		for _, a := range res.Alerts {
			shown = append(shown, rulecheck.DescribeAlert(&a))
		}
		t.Errorf("problems %q; alerts raised %q", res.Problems, shown)
	}
}
