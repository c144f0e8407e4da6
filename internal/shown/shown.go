// Package shown prints values that come from the data, not from the operator, in text
// meant for a terminal: a customer id is any UTF-8 a producer sets as a record key (up
// to --max-customer-bytes), which live, the archiver and backfill take as it is,
// newlines and escape sequences included; a rule's scope is any UTF-8 but *, newline,
// CR and tab; a rejected control's record key is anything; a group's values are the
// events' JSON strings, which may hold a line separator or a bidi override raw. Printed
// raw, such a value forges report lines and table rows (a key "evil\n*/a   1   c0  99 …"
// made backfill print a count for a customer that has none) or sends escape sequences
// to the operator's terminal.
//
// Contract: every text output of customers, groups, rule keys, test names, paths and
// rejected controls (the command's reports, rulecheck's alert lines) goes through Text,
// or JSON for a value that is JSON text; JSON outputs are encoded and need neither.
// Text leaves a value as is only when it cannot break a line or a table, and no value
// left as is reads as another one's quoted form.
package shown

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Text is s as a report prints it: as is when every character is printable
// (strconv.IsPrint: no control character, ESC, tab, newline, carriage return, Unicode
// line or paragraph separator, bidi override or isolate, other format character or
// space but ASCII's, and no invalid UTF-8), it does not start or end with a space and
// it does not start with a double quote; else quoted in Go syntax (strconv.Quote:
// "c1\nstdin:7", "c2\x1b[2J", "a\u202eb"). A value shown as is never starts with a
// quote, so no value reads as another one's quoted form; the empty string is "".
func Text(s string) string {
	if s == "" || s[0] == '"' || s[0] == ' ' || s[len(s)-1] == ' ' || !printable(s) {
		return strconv.Quote(s)
	}
	return s
}

// JSON is JSON text (a group: path → value) as a report prints it: as is when
// every character is printable (as Text decides), else with each character that is
// not written as a JSON \u escape (a surrogate pair beyond U+FFFF, U+FFFD for a byte
// that is not UTF-8). JSON strings are quoted already and hold no raw control
// character, but may hold a line separator or a bidi override raw; escaped, the text is
// the same JSON value.
func JSON(s string) string {
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

// Cut is s cut to at most n bytes, at the start of a UTF-8 character (so never in the
// middle of one), and whether it had to cut: for a value from the data kept in a
// record or a list (a control's record key, which may be any bytes up to the topic's
// record size), whose size must not follow the data's.
func Cut(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// Quoted is s quoted in Go syntax (strconv.Quote) for a message, its first n bytes
// only (Cut) when longer, then "… (N bytes)" outside the quotes, N its whole size:
// "c-1/kkkk"… (600004 bytes). A message that quoted a value from the data whole (a
// record key of 600 KB) was as large as the value, and every record or list carrying
// the message grew with it.
func Quoted(s string, n int) string {
	cut, cutting := Cut(s, n)
	if !cutting {
		return strconv.Quote(s)
	}
	return strconv.Quote(cut) + "… (" + strconv.Itoa(len(s)) + " bytes)"
}
