package rulecheck_test

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// TestTestEventKeysKeepTheirText: a test's event written in YAML flow style is the
// JSON object its text spells, keys included: {http: {1.0: 3}} is {"http":{"1.0":3}},
// which the rule below matches in live and in `rules test EVENTS`. A key that reads as
// a number (or a boolean) keeps its text, as JSON's keys are strings: 1.0 had become
// "1", 0x10 "16", yes "true", and of the keys 01 and 1 only one was left, so that the
// test failed (or passed) on an event no one wrote.
func TestTestEventKeysKeepTheirText(t *testing.T) {
	t.Parallel()
	const file = `- id: http10
  scope: "*"
  version: 1
  when:
    all:
      - {path: "$.http['1.0']", op: exists}
      - {path: "$.codes['01']", op: ==, value: a}
  threshold: 1
  tests:
    - name: an HTTP/1.0 request fires
      customer: c-1
      events:
        - {http: {1.0: 3}, codes: {01: a, 1: b, 0x10: c, yes: d}}
      expect: {alerts: 1}
`
	f, err := rule.ParseRulesFileTests("rules.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	ev := string(f.Tests[0].Events[0])
	for _, key := range []string{`"1.0":3`, `"01":"a"`, `"1":"b"`, `"0x10":"c"`, `"yes":"d"`} {
		if !strings.Contains(ev, key) {
			t.Errorf("test event is %s: member %s, as written, is missing", ev, key)
		}
	}
	if res := rulecheck.Run("rules.yaml", f.Tests[0]); len(res.Problems) > 0 {
		t.Errorf("the test fails, though its event, as written, makes the rule fire: %q", res.Problems)
	}
}
