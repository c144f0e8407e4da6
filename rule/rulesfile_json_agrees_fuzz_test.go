package rule

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// normalJSON is v's JSON encoding with strings' escapes decoded and numbers as written.
func normalJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(x)
	return string(out)
}

// FuzzRulesFileJSONAgreesWithControl: a rule's JSON text is the same rule whether it
// arrives as a control record or API body (ParseRule) or as the one member of a JSON
// rules file (ParseRulesFile, read by the YAML decoder): both accept it with the same
// encoding, or both refuse it. `rules test` and live read the same rule.
func FuzzRulesFileJSONAgreesWithControl(f *testing.F) {
	for _, s := range aggSeeds {
		f.Add(s)
	}
	for _, lit := range []string{
		`"\ud83d\ude00"`, `"\ud800"`, `"a\u0000b"`, `"\/"`, `"é"`, `"\u00e9"`, `-0`, `-0.0`, `1e400`, `-1e-400`,
		`1E+2`, `0.1e1`, `123456789012345678`, `9007199254740992`, `[1,"1",null,true,{"a":[]}]`, `"yes"`, `"~"`, `"0x10"`,
		`"\t"`, `"a\r\nb"`, `"#x"`, `"&a"`, `"*a"`, `"!!int 1"`, `"\u2028"`, `"\ufeff"`, `"@"`, `"%"`, `"- a"`, `"a: b"`,
	} {
		f.Add(`{"id":"a","scope":"*","threshold":1,"when":{"path":"$.a","op":"==","value":` + lit + `}}`)
		f.Add(`{"id":"a","scope":"*","threshold":1,"when":{"path":"$.a","op":"in","value":[` + lit + `]}}`)
	}
	f.Add(`{"id":"a","scope":"*","threshold":1,"when":{"path":"$['\u0000']"}}`)
	f.Add(`{"id":"a","scope":"*","threshold":1,"when":{"path":"$.a","op":"==","value":1},"when":{"path":"$.b"}}`)
	f.Add(`{"id":"a","scope":"*","threshold":1,"when":{"path":"$.a","op":"matches","value":"^\\d+$"}}`)
	f.Add(`{"id":"a\t","scope":"*","threshold":1,"when":{"path":"$.a"}}`)
	f.Fuzz(func(t *testing.T, text string) {
		// Text that is not JSON is YAML's to read (a trailing comma, YAML's escapes):
		// only JSON text is one rule both ways.
		// Bytes not UTF-8 are TestRulesFileInvalidUTF8IsRefused's.
		if len(text) > 4096 || !json.Valid([]byte(text)) || !utf8.ValidString(text) {
			return
		}
		control, cerr := ParseRule([]byte(text))
		rules, ferr := ParseRulesFile("r.json", []byte("["+text+"]"))
		if (cerr == nil) != (ferr == nil) {
			t.Fatalf("rule %s: as a control %v, in a JSON rules file %v", text, cerr, ferr)
		}
		if cerr != nil {
			return
		}
		if len(rules) != 1 {
			t.Fatalf("rule %s: the rules file holds %d rules", text, len(rules))
		}
		// The control keeps a string's escapes as written; compare the values.
		c, r := normalJSON(t, control), normalJSON(t, rules[0])
		if c != r {
			t.Fatalf("rule %s:\n as a control %s\n in a rules file %s", text, c, r)
		}
	})
}
