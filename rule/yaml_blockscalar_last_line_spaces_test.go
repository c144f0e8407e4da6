package rule

import (
	"strings"
	"testing"
)

// TestBlockScalarLastLineTrailingSpacesKept: in a literal (|) or folded (>) block
// scalar, white space at the end of a content line is content (YAML 1.2 §8.1.2: a
// line's text is every character after the indentation), and the README says a block
// "keeps both as written". Strip chomping (|-, >-) removes the final line breaks, and
// nothing else. Here it also drops the spaces ending the last line, without a word:
// `value: |-` over "login failed   " compares with "login failed", where `|` keeps
// "login failed   \n", and the same spaces one line up, or a tab, are kept.
func TestBlockScalarLastLineTrailingSpacesKept(t *testing.T) {
	mustLimits(t)
	head := "rules:\n  - id: x\n    scope: \"*\"\n    when:\n      path: $.n\n      op: ==\n      value: VAL    threshold: 1\n"
	for _, tc := range []struct{ block, want string }{
		{"|-\n        a  \n        b\n", `"a  \nb"`}, // inner line: kept
		{"|-\n        a\t\n", `"a\t"`},               // a tab: kept
		{"|-\n        login failed   \n", `"login failed   "`},
		{"|\n        login failed   \n", `"login failed   \n"`},
		{">-\n        login\n        failed   \n", `"login failed   "`},
	} {
		rules, err := ParseRulesFile("rules.yaml", []byte(strings.Replace(head, "VAL", tc.block, 1)))
		if err != nil {
			t.Errorf("%q: %v", tc.block, err)
			continue
		}
		if got := string(rules[0].When.Value); got != tc.want {
			t.Errorf("value: %q compares with %s, want %s", tc.block, got, tc.want)
		}
	}
}
