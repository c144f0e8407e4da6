package rule

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// LiteralKind is how a `matches` pattern that is a plain literal decides a string (see
// LiteralPattern).
type LiteralKind uint8

const (
	// NotLiteral: the pattern needs a regular-expression matcher.
	NotLiteral LiteralKind = iota
	// LiteralEquals: the string is the literal (`^admin$`).
	LiteralEquals
	// LiteralPrefix: the string starts with the literal (`^admin`).
	LiteralPrefix
	// LiteralSuffix: the string ends with the literal (`@example\.com$`).
	LiteralSuffix
	// LiteralContains: the literal is somewhere in the string (`sso`).
	LiteralContains
)

// LiteralPattern reports whether pattern, as a rule compiles it (Go's regexp, Perl
// syntax), matches a string exactly when the string equals, starts with, ends with or
// contains lit: a literal without case folding, anchored at the start of the text, its
// end, both or neither. Such patterns (`^admin`, `@example\.com$`) are most of what
// rules match, and a comparison of bytes decides them in a few nanoseconds where the
// regexp machine takes tens; the backfill's SQL decides them with the same string
// functions, so both stay one verdict.
//
// The comparison of bytes is the regexp's answer on any input, valid UTF-8 or not: the
// literal holds no U+FFFD (which the matcher also sees in every invalid byte), and
// every byte at which it can begin — a byte that starts a valid rune, or ASCII — is a
// position the matcher tries. Anything else (classes, alternation, repetition, (?i),
// (?m), groups) is NotLiteral: the regexp decides.
func LiteralPattern(pattern string) (kind LiteralKind, lit string) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return NotLiteral, ""
	}
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	begin := len(parts) > 0 && parts[0].Op == syntax.OpBeginText
	if begin {
		parts = parts[1:]
	}
	end := len(parts) > 0 && parts[len(parts)-1].Op == syntax.OpEndText
	if end {
		parts = parts[:len(parts)-1]
	}
	switch {
	case len(parts) == 0 || len(parts) == 1 && parts[0].Op == syntax.OpEmptyMatch:
	case len(parts) == 1 && parts[0].Op == syntax.OpLiteral && parts[0].Flags&syntax.FoldCase == 0 &&
		!slices.Contains(parts[0].Rune, utf8.RuneError):
		lit = string(parts[0].Rune)
	default:
		return NotLiteral, ""
	}
	switch {
	case begin && end:
		return LiteralEquals, lit
	case begin:
		return LiteralPrefix, lit
	case end:
		return LiteralSuffix, lit
	}
	return LiteralContains, lit
}

// Match is the pattern's answer for s, given its literal (kind is not NotLiteral).
func (k LiteralKind) Match(s, lit string) bool {
	switch k {
	case LiteralEquals:
		return s == lit
	case LiteralPrefix:
		return strings.HasPrefix(s, lit)
	case LiteralSuffix:
		return strings.HasSuffix(s, lit)
	case LiteralContains:
		return strings.Contains(s, lit)
	}
	return false
}
