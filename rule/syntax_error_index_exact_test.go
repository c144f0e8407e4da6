package rule

import "testing"

// TestRuleSyntaxErrorIndexIsTheByteAtFault: a rule that is not JSON is refused naming
// the 0-based index of the byte at fault, or the text's length when it ends too soon,
// with why. TestRuleSyntaxErrorIndexWithinText only bounds the index by the text's
// length: an index one byte late, or text that ends too soon reported as a byte at
// fault, went unseen.
func TestRuleSyntaxErrorIndexIsTheByteAtFault(t *testing.T) {
	mustLimits(t)
	for _, tt := range []struct{ text, want string }{
		{`[`, `rule: invalid: Syntax error at index 1: the text ends before its JSON does`},
		{`{"id":"a"`, `rule: invalid: Syntax error at index 9: the text ends before its JSON does`},
		{`{"id":"a",,}`, `rule: invalid: Syntax error at index 10: invalid character ',' looking for beginning of object key string`},
		{`{"id":"a"]`, `rule: invalid: Syntax error at index 9: invalid character ']' after object key:value pair`},
		{`{"id":x}`, `rule: invalid: Syntax error at index 6: invalid character 'x' looking for beginning of value`},
		{`{"id":"a"} x`, `rule: invalid: Syntax error at index 11: invalid character 'x' after top-level value`},
	} {
		_, err := ParseRule([]byte(tt.text))
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseRule(%s) = %v; want %s", tt.text, err, tt.want)
		}
	}
}
