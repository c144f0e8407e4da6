package rulecheck_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestRulesTestMatchesAnExactBigIntegerID: an id beyond 2^53 that float64 holds
// exactly (2^63 = 9223372036854775808, one past the largest int64) is keyed as its
// float64 and its alert shows it with AppendJSONFloat's shortest digits,
// 9223372036854776000; the expectation written with the events' id keys apart from
// that (the shown text is an integer float64 does not hold, keyed by its digits), so
// rules test reports the very alert live raises as not matching.
func TestRulesTestMatchesAnExactBigIntegerID(t *testing.T) {
	const file = `rules:
  - id: per-user
    scope: "*"
    when: {path: $.type, op: ==, value: login.failed}
    group_by: [$.user]
    window: {size: 10m}
    threshold: 2
    alert: {context: [$.user]}
    tests:
      - name: a user of id 2^63
        customer: c-1
        events:
          - {type: login.failed, user: 9223372036854775808}
          - {type: login.failed, user: 9223372036854775807}
          - {type: login.failed, user: 9223372036854775808}
        expect:
          alerts:
            - {group: {$.user: 9223372036854775808}, value: 2, context: {$.user: 9223372036854775808}}
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
