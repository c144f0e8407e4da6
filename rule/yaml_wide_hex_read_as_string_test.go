package rule

import (
	"strings"
	"testing"
)

// TestWideHexOrBinaryIntegerIsNotAString: yamlvalue.go reads YAML's integer forms
// that are not JSON (0x1F, 0b101, 0o17) as YAML reads them, numbers, and an integer
// past 2^53 is refused at its rule ("compare such ids as strings"), whether written
// in decimal or as 0x8000000000000000. One past 64 bits in hex or binary
// (0x10000000000000000, -0x8000000000000001, 65 binary digits) is neither: the rule
// silently compares with the string "0x10000000000000000", which no numeric event
// equals. A number must stay a number or be refused.
func TestWideHexOrBinaryIntegerIsNotAString(t *testing.T) {
	mustLimits(t)
	head := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.v, op: ==, value: VAL}\n    threshold: 1\n"
	for _, v := range []string{"0x10000000000000000", "-0x8000000000000001", "0b" + strings.Repeat("1", 65)} {
		t.Run(v[:min(len(v), 24)], func(t *testing.T) {
			rules, err := ParseRulesFile("rules.yaml", []byte(strings.Replace(head, "VAL", v, 1)))
			if err != nil {
				return // refused, as 0x8000000000000000 is: fine
			}
			if got := string(rules[0].When.Value); strings.HasPrefix(got, `"`) {
				t.Errorf("value: %s accepted as the string %s, where 0x8000000000000000 is refused as a number past 2^53", v, got)
			}
		})
	}
}
