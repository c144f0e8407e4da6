package rule

import (
	"testing"
)

// TestRulesFileEscapeWithoutHexDigitsIsRefused: a double-quoted escape that YAML
// (and JSON) require to be followed by hexadecimal digits (\x, \u, \U) but is not
// is invalid text, and the rules file must be refused at its line. The YAML reader
// decodes the letters as if they were digits: `value: "\uZZZZ"` became the
// character U+2CCCA and `"\u004G"` became "W", so the rule compared with a value
// its author never wrote, silently — and the same text as a control is refused.
func TestRulesFileEscapeWithoutHexDigitsIsRefused(t *testing.T) {
	mustLimits(t)
	for _, esc := range []string{`\uZZZZ`, `\u004G`, `\xZZ`, `\x4G`, `\UZZZZZZZZ`} {
		t.Run(esc, func(t *testing.T) {
			file := "- id: a\n  scope: '*'\n  threshold: 1\n  when: {path: $.a, op: '==', value: \"" + esc + "\"}\n"
			rules, err := ParseRulesFile("rules.yaml", []byte(file))
			if err == nil {
				t.Errorf("rules file with value \"%s\" accepted, the value read as %q; want it refused at line 4", esc, rules[0].When.Operand())
			}
		})
	}
}
