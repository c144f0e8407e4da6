package rule

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// yamlRule parses y as a rules file and returns its one rule's JSON and its tests'
// events, or the error.
func yamlRule(t *testing.T, y string) (string, []string, error) {
	t.Helper()
	f, err := ParseRulesFileTests("rules.yaml", []byte(y))
	if err != nil {
		return "", nil, err
	}
	b, _ := json.Marshal(f.Rules[0])
	var evs []string
	for _, tt := range f.Tests {
		for _, e := range tt.Events {
			evs = append(evs, string(e))
		}
	}
	return string(b), evs, nil
}

// TestLoneLowSurrogateEscapeInRulesFileIsRefused: a control's JSON with an escape of
// a lone surrogate ("\udc00") is refused with its byte offset (architecture.md, Control
// record: "the decoders turn both into U+FFFD, a name or JSONPath its author never
// wrote"). A rules file, YAML or JSON, is read by the YAML decoder, which refuses a
// lone HIGH surrogate ("\ud800") but turns a lone LOW one into U+FFFD without a word:
// `rules apply` then publishes a rule comparing with "\uFFFD", a value the author never
// wrote, and `rules test` runs a test event holding it. Same text, two verdicts.
func TestLoneLowSurrogateEscapeInRulesFileIsRefused(t *testing.T) {
	files := map[string]string{
		"yaml rule value": "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: \"\\udc00x\"}\n    threshold: 1\n",
		"json rule value": `[{"id":"x","scope":"*","when":{"path":"$.type","op":"==","value":"\udc00"},"threshold":1}]`,
		"json rule name":  `[{"id":"x","scope":"*","name":"a\uDC01","when":{"path":"$.type","op":"==","value":"a"},"threshold":1}]`,
		"yaml test event": "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: a}\n    threshold: 1\n" +
			"    tests:\n      - name: t\n        customer: c\n        events: [{type: a, s: \"\\udc00\"}]\n        expect: {alerts: 1}\n",
	}
	for name, y := range files {
		js, evs, err := yamlRule(t, y)
		if err == nil {
			t.Errorf("%s: accepted, the escape turned into U+FFFD: rule %s events %v", name, js, evs)
			continue
		}
		if !strings.Contains(err.Error(), "surrogate") {
			t.Errorf("%s: refused, but not for the surrogate: %v", name, err)
		}
	}
}

// TestCRLFFileReadsAsTheLFFile: a multi-line quoted scalar folds its line break into
// a space (YAML 1.2 §7.3: "a\n  b" is "a b"), and does so for an LF file. The same
// file saved with CRLF line endings (Windows editors, which the parser's BOM handling
// already caters for) gives "a\nb" instead: the rule compares with another value, and
// nothing says so. A file's line endings must not change what its rules mean.
func TestCRLFFileReadsAsTheLFFile(t *testing.T) {
	for _, lf := range []string{
		"rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: \"login\n      failed\"}\n    threshold: 1\n",
		"rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: 'login\n      failed'}\n    threshold: 1\n",
	} {
		crlf := strings.ReplaceAll(lf, "\n", "\r\n")
		a, _, errA := yamlRule(t, lf)
		b, _, errB := yamlRule(t, crlf)
		if errA != nil || errB != nil {
			t.Fatalf("LF: %v; CRLF: %v", errA, errB)
		}
		if a != b {
			t.Errorf("the same file reads as two rules by its line endings:\n  LF:   %s\n  CRLF: %s", a, b)
		}
	}
}

// TestLeadingZeroNumberIsNotOctal: yamlvalue.go says YAML's forms that are not JSON
// are "read as YAML reads them", and decodes the ZIP code "!!str 02142" as its text
// because reading it as 1122 was wrong. Unquoted, 02142 is still 1122: YAML 1.2 (core
// schema) reads a leading zero as decimal (octal is 0o…), only YAML 1.1 read it as
// octal. So `value: 02142` compares with 1122, `value: 08` is the string "08" while
// `value: 07` is the number 7, and a test event {zip: 02142} carries 1122. A number
// JSON cannot write must be refused at its line, or read as the YAML spec reads it;
// never a silent octal.
func TestLeadingZeroNumberIsNotOctal(t *testing.T) {
	head := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.zip, op: ==, value: VAL}\n    threshold: 1\n"
	for _, v := range []string{"02142", "0755", "-017"} {
		js, _, err := yamlRule(t, strings.Replace(head, "VAL", v, 1))
		if err != nil {
			continue // refused: fine
		}
		var r struct {
			When struct {
				Value json.RawMessage `json:"value"`
			} `json:"when"`
		}
		_ = json.Unmarshal([]byte(js), &r)
		if want := strings.Replace(strings.TrimLeft(strings.TrimPrefix(v, "-"), "0"), "", "", 1); string(r.When.Value) != want && string(r.When.Value) != "-"+want {
			t.Errorf("value: %s was read as %s (YAML 1.1 octal), neither refused nor the decimal YAML reads", v, r.When.Value)
		}
	}
	ev := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: a}\n    threshold: 1\n" +
		"    tests:\n      - name: t\n        customer: c\n        events: [{type: a, zip: 02142}]\n        expect: {alerts: 1}\n"
	if _, evs, err := yamlRule(t, ev); err == nil && len(evs) == 1 && strings.Contains(evs[0], "1122") {
		t.Errorf("test event {zip: 02142} was run as %s", evs[0])
	}
}

// TestTagsThatChangeTheTextAreRefused: a tag that is not YAML's own (`!Ref x`) is
// refused, because the decoder dropped it and kept another value than the author
// meant; its message lists the tags a file takes (!!str, !!int, !!float, !!bool,
// !!null, !!map, !!seq). But !!binary, !!timestamp (and !!null over text) pass, and
// change the value without a word: `value: !!binary aGVsbG8=` compares with the
// base64 text, not the bytes the tag says ("hello"); `value: !!timestamp 2026-01-01`
// compares with "2026-01-01T00:00:00Z", which an event's "2026-01-01" never equals;
// `value: !!null admin` is null, "admin" dropped. Each must be refused at its line
// (or keep what the author wrote).
func TestTagsThatChangeTheTextAreRefused(t *testing.T) {
	head := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.v, op: ==, value: VAL}\n    threshold: 1\n"
	for v, written := range map[string]string{
		"!!binary aGVsbG8=":      `"hello"`,
		"!!timestamp 2026-01-01": `"2026-01-01"`,
		"!!null admin":           `"admin"`,
	} {
		js, _, err := yamlRule(t, strings.Replace(head, "VAL", v, 1))
		if err != nil {
			if !strings.Contains(err.Error(), "rules.yaml:4") {
				t.Errorf("%s: refused without its line: %v", v, err)
			}
			continue
		}
		if !strings.Contains(js, `"value":`+written) {
			t.Errorf("value: %s accepted as %s", v, js)
		}
	}
}

// TestYAMLTextReadAsWritten: a rules file's text the decoder would read as another
// value than it says is refused before parsing, at its line and column (in
// characters), saying what to write instead; what it reads right is still read. The
// rule compares with value: VAL on line 7, at column 14.
func TestYAMLTextReadAsWritten(t *testing.T) {
	mustLimits(t)
	head := "rules:\n  - id: x\n    scope: \"*\"\n    when:\n      path: $.v\n      op: ==\n      value: VAL\n    threshold: 1\n"
	for _, tc := range []struct {
		val, err, value string // err: the whole error; else value: the rule's JSON value
	}{
		// Escapes of lone surrogates: no character, once U+FFFD.
		{`"\udc00x"`, `rule: invalid: rules.yaml:7:15: escape of a lone surrogate (\udc00), which is no character: write the character itself, or a surrogate pair for one beyond U+FFFF`, ""},
		{`"é\U0000DC00"`, `rule: invalid: rules.yaml:7:16: escape of a lone surrogate (\U0000DC00), which is no character: write the character itself, or a surrogate pair for one beyond U+FFFF`, ""},
		{`"\ud83d\ude00 \u00e9 \"\\udc00"`, "", `"😀 é \"\\udc00"`}, // a pair, an escaped backslash
		// Control characters written raw; escaped they are what they say.
		{"a\x00b", `rule: invalid: rules.yaml:7:15: control character U+0000 written raw, which YAML does not allow: write it as an escape in a double-quoted string ("\x00")`, ""},
		{"\"a\x1bb\"", `rule: invalid: rules.yaml:7:16: control character U+001B written raw, which YAML does not allow: write it as an escape in a double-quoted string ("\x1b")`, ""},
		{`"a\0b\x1b"`, "", `"a\u0000b\u001b"`},
		// Tabs: inside an unquoted scalar, the reader dropped them; in a double-quoted
		// one within {…}, it lost the '}' after it.
		{"login\tfailed", `rule: invalid: rules.yaml:7:19: a tab inside the unquoted text "login\tfailed", which the YAML reader drops: quote it ("…\t…", or '…' with the tab)`, ""},
		{"\"login\tfailed\"", `rule: invalid: rules.yaml:7:20: a tab written raw in a double-quoted string, which the YAML reader misreads: write it as \t`, ""},
		{"'login\tfailed'", "", `"login\tfailed"`},
		{"\"login\\tfailed\"", "", `"login\tfailed"`},
		{"login\t", "", `"login"`}, // white space around the text is none of it
		// Numbers with a leading zero: octal to YAML 1.1, decimal to 1.2, a string
		// with an 8 or 9.
		{"02142", `rule: invalid: rules.yaml:7:14: 02142 has a leading zero, which YAML reads as octal (or as a string when a digit is 8 or 9): quote it for a string ("02142"), or drop the zero for a number`, ""},
		{"08", `rule: invalid: rules.yaml:7:14: 08 has a leading zero, which YAML reads as octal (or as a string when a digit is 8 or 9): quote it for a string ("08"), or drop the zero for a number`, ""},
		{"-017", `rule: invalid: rules.yaml:7:14: -017 has a leading zero, which YAML reads as octal (or as a string when a digit is 8 or 9): quote it for a string ("-017"), or drop the zero for a number`, ""},
		{"+017", `rule: invalid: rules.yaml:7:14: +017 has a leading zero, which YAML reads as octal (or as a string when a digit is 8 or 9): quote it for a string ("+017"), or drop the zero for a number`, ""},
		{"!!int 0755", `rule: invalid: rules.yaml:7:20: 0755 has a leading zero, which YAML reads as octal (or as a string when a digit is 8 or 9): quote it for a string ("0755"), or drop the zero for a number`, ""},
		{"&z 0755", `rule: invalid: rules.yaml:7:17: 0755 has a leading zero, which YAML reads as octal (or as a string when a digit is 8 or 9): quote it for a string ("0755"), or drop the zero for a number`, ""},
		{`"02142"`, "", `"02142"`},
		{"!!str 02142", "", `"02142"`},
		{"!!str &z 0755", "", `"0755"`},
		{`!!str "\udc00"`, `rule: invalid: rules.yaml:7:21: escape of a lone surrogate (\udc00), which is no character: write the character itself, or a surrogate pair for one beyond U+FFFF`, ""},
		{"!!str a\tb", `rule: invalid: rules.yaml:7:21: a tab inside the unquoted text "a\tb", which the YAML reader drops: quote it ("…\t…", or '…' with the tab)`, ""},
		{"0", "", `0`},
		{"0.5", "", `0.5`},
		{"-0", "", `-0`},
		{"100", "", `100`},
		// Tags but YAML's own that keep the text.
		{"!!binary aGVsbG8=", `rules.yaml:7: rule #1: rule: invalid: unknown YAML tag !!binary at column 14: a rules or destinations file takes YAML's own (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq)`, ""},
		{"!!timestamp 2026-01-01", `rules.yaml:7: rule #1: rule: invalid: unknown YAML tag !!timestamp at column 14: a rules or destinations file takes YAML's own (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq)`, ""},
		{"!<tag:yaml.org,2002:int> 5", `rules.yaml:7: rule #1: rule: invalid: unknown YAML tag !<tag:yaml.org,2002:int> at column 14: a rules or destinations file takes YAML's own (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq)`, ""},
		{"!!null admin", `rules.yaml:7: rule #1: rule: invalid: !!null at column 14 tags admin, which it would make null: write null (or ~), or drop the tag`, ""},
		{"!!null ~", "", `null`},
		{"!!int 5", "", `5`},
		{"!<tag:yaml.org,2002:str> 5", "", `"5"`},
	} {
		rules, err := ParseRulesFile("rules.yaml", []byte(strings.Replace(head, "VAL", tc.val, 1)))
		switch {
		case tc.err != "":
			if err == nil || !errors.Is(err, ErrInvalid) || err.Error() != tc.err {
				t.Errorf("value: %q: error\n got  %v\n want %s", tc.val, err, tc.err)
			}
		case err != nil:
			t.Errorf("value: %q: %v", tc.val, err)
		case string(rules[0].When.Value) != tc.value:
			t.Errorf("value: %q: the rule compares with %s, want %s", tc.val, rules[0].When.Value, tc.value)
		}
	}
	// A tab written raw in a double-quoted string made the lexer lose the token after
	// it: in a block the next key's line ("value is not allowed in this context",
	// above), inside {…} the '}' ("',' or '}' must be specified", of text that is
	// fine). YAML allows it: the message says what to write instead.
	_, err := ParseRulesFile("rules.yaml", []byte("- {id: x, scope: \"*\", when: {path: $.v, op: ==, value: \"login\tfailed\"}, threshold: 1}\n"))
	if want := `rule: invalid: rules.yaml:1:62: a tab written raw in a double-quoted string, which the YAML reader misreads: write it as \t`; err == nil || err.Error() != want {
		t.Errorf("error\n got  %v\n want %s", err, want)
	}
}

// TestYAMLTextKeysAndSeparators: what the text checks leave alone: keys with a leading
// zero (a key is the string of its text), a tab separating a key from its value or
// before a comment, and in a single-quoted string.
func TestYAMLTextKeysAndSeparators(t *testing.T) {
	mustLimits(t)
	y := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: a}\n    threshold: 1\n" +
		"    tests:\n      - name: t\n        customer: c\n        events:\n" +
		"          - type:\ta\t# a comment\n            01: {02: x}\n            s: 'a\tb'\n" +
		"        expect: {alerts: 1}\n"
	f, err := ParseRulesFileTests("rules.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.Tests[0].Events[0]), `{"type":"a","01":{"02":"x"},"s":"a\tb"}`; got != want {
		t.Errorf("event\n got  %s\n want %s", got, want)
	}
}

// TestYAMLTextOfOtherFiles: destinations and mutes files are read as rules files are:
// a CRLF one as the LF one, and their text refused alike.
func TestYAMLTextOfOtherFiles(t *testing.T) {
	mustLimits(t)
	lf := "destinations:\n  - {scope: \"*\", name: a, type: webhook, url: \"https://x.example/\n      h\"}\nmutes:\n  - {scope: c-1, id: m, rule: \"*\", until: \"2030-01-01T00:00:00Z\", reason: \"a\n      deploy\", by: ana}\n"
	for _, text := range []string{lf, "\uFEFF" + strings.ReplaceAll(lf, "\n", "\r\n")} {
		f, err := ParseNotifyFile("d.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if d, m := f.Destinations[0], f.Mutes[0]; d.URL != "https://x.example/ h" || m.Reason != "a deploy" {
			t.Errorf("read url %q, reason %q", d.URL, m.Reason)
		}
	}
	_, err := ParseNotifyFile("d.yaml", []byte("mutes:\n  - {scope: c-1, id: m, rule: \"*\", until: \"2030-01-01T00:00:00Z\", reason: a\tb, by: ana}\n"))
	if want := `rule: invalid: d.yaml:2:76: a tab inside the unquoted text "a\tb", which the YAML reader drops: quote it ("…\t…", or '…' with the tab)`; err == nil || err.Error() != want {
		t.Errorf("error\n got  %v\n want %s", err, want)
	}
}
