package rule

import (
	"strings"
	"testing"
)

// TestBlockScalarWithHeaderCommentKeepsLastLineSpaces: a strip-chomped block whose
// header carries a comment (`|- # note`) loses the spaces ending its last line, as
// stripChompedSpaces was written to stop: the lexer puts a Comment token between the
// block's header and its text, and stripChompedSpaces looks only at the token right
// before the text, so the block is skipped and compares without its spaces.
func TestBlockScalarWithHeaderCommentKeepsLastLineSpaces(t *testing.T) {
	mustLimits(t)
	head := "rules:\n  - id: x\n    scope: \"*\"\n    when:\n      path: $.n\n      op: ==\n      value: VAL    threshold: 1\n"
	for _, tc := range []struct{ block, want string }{
		{"|- # trailing spaces matter\n        login failed   \n", `"login failed   "`},
		{">- # trailing spaces matter\n        login\n        failed   \n", `"login failed   "`},
	} {
		rules, err := ParseRulesFile("rules.yaml", []byte(strings.Replace(head, "VAL", tc.block, 1)))
		if err != nil {
			continue // refused at its line would be as good as kept
		}
		if got := string(rules[0].When.Value); got != tc.want {
			t.Errorf("value: %q compares with %s, want %s", tc.block, got, tc.want)
		}
	}
}
