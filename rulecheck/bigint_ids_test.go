package rulecheck_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestRulesTestTellsBigIntegerIDsApart: rules test gives live's verdict on 64-bit ids
// (integers beyond 2^53): two users one apart are two groups, and an alert's group
// and context show the id its event held, which is what an expectation written with
// that id matches.
//   - ids float64 does not hold: not the float64 neighbour 1234567890123456800;
//   - an id float64 holds exactly (2^63, one past the largest int64): not
//     AppendJSONFloat's shortest digits 9223372036854776000, which key by their
//     digits as another group than the one they name.
func TestRulesTestTellsBigIntegerIDsApart(t *testing.T) {
	for _, tc := range []struct{ name, id, other string }{
		{"two users one apart", "1234567890123456789", "1234567890123456790"},
		{"a user of id 2^63", "9223372036854775808", "9223372036854775807"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := strings.NewReplacer("ID", tc.id, "OTHER", tc.other).Replace(`rules:
  - id: per-user
    scope: "*"
    when: {path: $.type, op: ==, value: login.failed}
    group_by: [$.user]
    window: {size: 10m}
    threshold: 2
    alert: {context: [$.user]}
    tests:
      - name: big ids
        customer: c-1
        events:
          - {type: login.failed, user: ID}
          - {type: login.failed, user: OTHER}
          - {type: login.failed, user: ID}
        expect:
          alerts:
            - {group: {$.user: ID}, value: 2, context: {$.user: ID}}
`)
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
		})
	}
}
