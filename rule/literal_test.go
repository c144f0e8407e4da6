package rule_test

import (
	"regexp"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// TestLiteralPattern: the patterns that are a literal, anchored or not, and no others;
// and on each input the literal decides as the regexp does.
func TestLiteralPattern(t *testing.T) {
	inputs := []string{"", "user8", "user80", "xuser8", "admin", "Admin", "admin\n", "a@example.com",
		"a@example.comx", "sso-login", "é日本語", "\xffuser8", "u\xc3ser8", "\uFFFD", "x|y"}
	for _, c := range []struct {
		pattern string
		kind    rule.LiteralKind
		lit     string
	}{
		{"^user8", rule.LiteralPrefix, "user8"},
		{`@example\.com$`, rule.LiteralSuffix, "@example.com"},
		{"^admin$", rule.LiteralEquals, "admin"},
		{`\Aadmin\z`, rule.LiteralEquals, "admin"},
		{"sso", rule.LiteralContains, "sso"},
		{"", rule.LiteralContains, ""},
		{"^", rule.LiteralPrefix, ""},
		{"^$", rule.LiteralEquals, ""},
		{"é日本", rule.LiteralContains, "é日本"},
		{`x\|y`, rule.LiteralContains, "x|y"},
		{"(?i)admin", rule.NotLiteral, ""},
		{"(?m)^admin", rule.NotLiteral, ""},
		{"adm.n", rule.NotLiteral, ""},
		{"^user[0-9]", rule.NotLiteral, ""},
		{"a|b", rule.NotLiteral, ""},
		{"x*", rule.NotLiteral, ""},
		{"(admin)", rule.NotLiteral, ""},
		{"\uFFFD", rule.NotLiteral, ""},
		{"(", rule.NotLiteral, ""},
	} {
		kind, lit := rule.LiteralPattern(c.pattern)
		if kind != c.kind || lit != c.lit {
			t.Errorf("LiteralPattern(%q) = %d, %q; want %d, %q", c.pattern, kind, lit, c.kind, c.lit)
			continue
		}
		if kind == rule.NotLiteral {
			continue
		}
		re := regexp.MustCompile(c.pattern)
		for _, in := range inputs {
			if got, want := kind.Match(in, lit), re.MatchString(in); got != want {
				t.Errorf("pattern %q on %q: literal says %v, regexp %v", c.pattern, in, got, want)
			}
		}
	}
}

// FuzzLiteralPattern: wherever LiteralPattern calls a pattern a literal, comparing
// bytes answers as Go's regexp does, on any input, valid UTF-8 or not.
func FuzzLiteralPattern(f *testing.F) {
	for _, s := range [][2]string{{"^user8", "user80"}, {`\.com$`, "a.com"}, {"^x$", "x"}, {"é", "\xc3é"},
		{"sso", "\xe2\x82sso"}, {"", ""}, {"^$", "\n"}, {`a\$`, "a$"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, in string) {
		kind, lit := rule.LiteralPattern(pattern)
		if kind == rule.NotLiteral {
			return
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			t.Fatalf("LiteralPattern(%q) = %d, %q, but the pattern does not compile: %v", pattern, kind, lit, err)
		}
		if got, want := kind.Match(in, lit), re.MatchString(in); got != want {
			t.Fatalf("pattern %q (%d, %q) on %q: literal says %v, regexp %v", pattern, kind, lit, in, got, want)
		}
	})
}
