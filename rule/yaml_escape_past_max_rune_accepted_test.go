package rule

import (
	"strings"
	"testing"
)

// TestRulesFileEscapePastMaxRuneIsRefused: a \U escape past U+10FFFF names no
// character, and checkDoubleQuoted refuses it ("escape \U00110000 is past U+10FFFF").
// But hexAt parses the 8 digits as a uint32 and returns them as a rune (int32):
// from \U80000000 on the rune is negative, not > utf8.MaxRune, so "\UFFFFFFFF" is
// accepted and the lexer reads it as U+FFFD, a value its author never wrote.
func TestRulesFileEscapePastMaxRuneIsRefused(t *testing.T) {
	mustLimits(t)
	for _, esc := range []string{`\U00110000`, `\U7FFFFFFF`, `\U80000000`, `\UFFFFFFFF`} {
		t.Run(esc, func(t *testing.T) {
			file := "- id: a\n  scope: '*'\n  threshold: 1\n  when: {path: $.a, op: '==', value: \"" + esc + "\"}\n"
			rules, err := ParseRulesFile("rules.yaml", []byte(file))
			if err == nil {
				t.Fatalf("rules file with value \"%s\" accepted, the value read as %q; want it refused at line 4 as past U+10FFFF", esc, rules[0].When.Operand())
			}
			if !strings.Contains(err.Error(), "past U+10FFFF") {
				t.Errorf("refused, but not as past U+10FFFF: %v", err)
			}
		})
	}
}
