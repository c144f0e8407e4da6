package rule

import (
	"fmt"
	"testing"
)

// TestRulesFileTabAfterInvalidUTF8DoesNotPanic: any bytes as a rules file give rules
// or an error, never a panic (FuzzParseRulesFile's promise; its seed 1609df035173b72a
// is this file). Bytes that are not UTF-8 before a tab in an unquoted scalar made
// tabInPlain look for the tab at an offset past the end of the text (the reader's
// token holds U+FFFD, three bytes, for each bad byte): a six-byte file panics
// ParseRulesFile, which `rules test`, `rules apply` and `backtest` call.
func TestRulesFileTabAfterInvalidUTF8DoesNotPanic(t *testing.T) {
	for _, file := range []string{"0\n\x8d\xae\t0", "- id: a\n  scope: \xff\xfe\tx\n"} {
		t.Run(fmt.Sprintf("%q", file), func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("ParseRulesFile(%q) panicked: %v", file, p)
				}
			}()
			if _, err := ParseRulesFile("rules.yaml", []byte(file)); err == nil {
				t.Errorf("ParseRulesFile(%q) accepted", file)
			}
		})
	}
}
