package rule

import (
	"strings"
	"testing"
)

// TestNumericTagOverOtherTextIsRefused: `!!int` and `!!float` say the scalar is a
// number. Over text that is no such number (1.5 under !!int, abc, true, ~, ”, 1e3
// under !!int) the decoder makes it 0 without a word: `value: !!int 1.5` publishes a
// rule comparing with 0, which an event of 1.5 never equals, and one of 0 does. The
// tag and its text disagree: the file must be refused at the value's line (as
// `!!bool abc` is), never read as 0.
func TestNumericTagOverOtherTextIsRefused(t *testing.T) {
	mustLimits(t)
	head := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.v, op: ==, value: VAL}\n    threshold: 1\n"
	for _, v := range []string{"!!int 1.5", "!!int abc", "!!int true", "!!int ~", "!!int ''", "!!int 1e3", "!!float abc", "!!float true", "!!float ~"} {
		t.Run(v, func(t *testing.T) {
			rules, err := ParseRulesFile("rules.yaml", []byte(strings.Replace(head, "VAL", v, 1)))
			if err != nil {
				if !strings.Contains(err.Error(), "rules.yaml:4") && !strings.Contains(err.Error(), "[4:") {
					t.Errorf("refused without the value's line: %v", err)
				}
				return
			}
			if got := string(rules[0].When.Value); got == "0" {
				t.Errorf("value: %s accepted as %s: the rule compares with 0, a value the file never wrote", v, got)
			}
		})
	}
}
