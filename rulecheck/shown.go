package rulecheck

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A raised alert's customer is any UTF-8 a test gives (but *, newline, CR and tab), and
// its group's and context's values are the events' JSON strings, which may hold a line
// separator or a bidi override raw: DescribeAlert's line is printed by `hindsight rules
// test`, and written raw such a value breaks it or sends an escape to the terminal.
// shown and shownJSON are cmd/hindsight's helpers of the same names (shown.go there),
// which this package cannot import (nothing imports the command): they must decide
// alike.

// shown is s as a report prints it: as is when every character is printable
// (strconv.IsPrint, valid UTF-8), it does not start or end with a space and it does not
// start with a double quote; else quoted in Go syntax (strconv.Quote).
func shown(s string) string {
	if s == "" || s[0] == '"' || s[0] == ' ' || s[len(s)-1] == ' ' || !printable(s) {
		return strconv.Quote(s)
	}
	return s
}

// shownJSON is JSON text as a report prints it: as is when every character is
// printable, else with each character that is not written as a JSON \u escape (a
// surrogate pair beyond U+FFFF, U+FFFD for a byte that is not UTF-8): the same JSON
// value.
func shownJSON(s string) string {
	if printable(s) {
		return s
	}
	var out strings.Builder
	for _, r := range s {
		if strconv.IsPrint(r) && r != utf8.RuneError {
			out.WriteRune(r)
			continue
		}
		if r > 0xFFFF {
			hi, lo := utf16.EncodeRune(r)
			out.WriteString(`\u` + hex4(hi) + `\u` + hex4(lo))
			continue
		}
		out.WriteString(`\u` + hex4(r))
	}
	return out.String()
}

// printable says whether every character of s is printable (strconv.IsPrint) and s is
// valid UTF-8.
func printable(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		}
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

func hex4(r rune) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[r>>12&0xF], digits[r>>8&0xF], digits[r>>4&0xF], digits[r&0xF]})
}
