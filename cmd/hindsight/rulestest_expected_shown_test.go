package main

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// TestRulesTestExpectedGroupIsShown: a failing test's problem line "expect.alerts[i]
// {group: …, context: …} matches none of the alerts raised" (rulecheck.describeExpected)
// printed the expected group and context raw: a bidi override (or any character
// encoding/json writes raw) in them reached the terminal. Problem lines go through
// shown.JSON, as the alerts raised do.
// Not parallel: the command sets the process's rule limits.
func TestRulesTestExpectedGroupIsShown(t *testing.T) {
	t.Cleanup(func() { _ = rule.SetLimits(rule.DefaultLimits) })
	f := tempFile(t, "r.yaml", `rules:
  - id: r1
    scope: "*"
    when: {path: $.type, op: ==, value: x}
    group_by: [$.k]
    threshold: 1
    tests:
      - name: t1
        customer: c1
        events: [{type: x, k: a}]
        expect:
          alerts:
            - group: {"$.k": "b\u202e1 :ssap"}
`)
	out, err := run(t, "", "rules", "test", "-f", f)
	t.Logf("exit %d\n%s", exitCode(err), out)
	if strings.ContainsAny(out, rawUnsafe) {
		t.Errorf("rules test printed an expected group raw (a bidi override reached the terminal):\n%q", out)
	}
}
