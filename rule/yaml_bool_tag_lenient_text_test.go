package rule

import (
	"strings"
	"testing"
)

// TestBoolTagOverOtherTextIsRefused: the file reads YAML 1.2's booleans (an unquoted
// yes, on, y is the string "yes"), and `!!bool abc`, `!!bool 2`, `!!bool "on"` are
// refused at their line. But `!!bool 0` is false, `!!bool 1` true and `!!bool 'yes'`
// true, without a word: the tag's text is no YAML boolean, and the rule compares with a
// value the file does not write, where the same text in double quotes is refused.
func TestBoolTagOverOtherTextIsRefused(t *testing.T) {
	mustLimits(t)
	head := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.v, op: ==, value: VAL}\n    threshold: 1\n"
	for _, v := range []string{"!!bool 0", "!!bool 1", "!!bool 'yes'", "!!bool 'on'"} {
		rules, err := ParseRulesFile("rules.yaml", []byte(strings.Replace(head, "VAL", v, 1)))
		if err != nil {
			continue // refused, as !!bool "on" is
		}
		t.Errorf("value: %s accepted as %s", v, rules[0].When.Value)
	}
}
