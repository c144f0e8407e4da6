package rule

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBlockScalarTextIsKept: a block scalar (| or >) is YAML's way to write text as it
// is: a tab in it is kept (YAML 1.2 §8.1: nb-char, tab included), and its content is
// never a number ("|-\n  0123" is the string "0123"). goccy/go-yaml reads both so, and
// so did Hindsight before 7b144e8. checkScalars (rule/yamltext.go) takes the content
// token of a block scalar (token.StringType after a Literal or Folded token) for a plain
// scalar, and refuses the file: "a tab inside the unquoted text ..., which the YAML
// reader drops" (it does not drop it), and "0123 has a leading zero, which YAML reads as
// octal" (it reads a string). A rule's multi-line name, a test event holding a pasted
// log line with tabs, a code written as a block scalar: refused, though read as written.
func TestBlockScalarTextIsKept(t *testing.T) {
	head := "rules:\n  - id: x\n    scope: \"*\"\n"
	when := func(value string) string {
		return head + "    when:\n      path: $.n\n      op: ==\n      value: " + value + "\n    threshold: 1\n"
	}
	cases := []struct {
		name, file string
		want       string // a fragment of the rule's JSON, or of its test's event
	}{
		{"literal with a tab", when("|\n        a\tb"), `"value":"a\tb\n"`},
		{"folded with a tab", when(">-\n        a\tb"), `"value":"a\tb"`},
		{"literal strip of digits with a leading zero", when("|-\n        0123"), `"value":"0123"`},
		{"folded strip of digits with a leading zero", when(">-\n        007"), `"value":"007"`},
		{"rule name as a literal with a tab", head + "    name: |\n      col1\tcol2\n    when: {path: $.n, op: ==, value: a}\n    threshold: 1\n",
			`"name":"col1\tcol2\n"`},
		{"test event with a tab in a literal", head + "    when: {path: $.n, op: ==, value: a}\n    threshold: 1\n" +
			"    tests:\n      - name: t\n        customer: c\n        events:\n          - n: a\n            line: |\n              GET\t/login\t401\n        expect: {alerts: 1}\n",
			`"line":"GET\t/login\t401\n"`},
	}
	for _, c := range cases {
		f, err := ParseRulesFileTests("rules.yaml", []byte(c.file))
		if err != nil {
			t.Errorf("%s: refused: %v", c.name, err)
			continue
		}
		b, _ := json.Marshal(f.Rules[0])
		got := string(b)
		for _, tt := range f.Tests {
			for _, e := range tt.Events {
				got += " " + string(e)
			}
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: read as %s, want %s in it", c.name, got, c.want)
		}
	}
}
