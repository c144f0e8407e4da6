package rule

import (
	"encoding/json"
	"testing"
)

// TestTabInsidePlainScalarIsKept: a tab between two characters of a plain scalar is
// part of it (YAML 1.2 §7.3.3: only leading and trailing white space is not content),
// as it is in a single-quoted one ('a<TAB>b' is read right). The decoder drops it:
// `value: login<TAB>failed` compares with "loginfailed", and a test event
// {msg: a<TAB>b} is run as {"msg":"ab"}, while live reads the producer's "a\tb".
// Text must be kept as written, or the file refused at the tab's position; never
// another string.
func TestTabInsidePlainScalarIsKept(t *testing.T) {
	for name, y := range map[string]string{
		"block": "rules:\n  - id: x\n    scope: \"*\"\n    when:\n      path: $.type\n      op: ==\n      value: login\tfailed\n    threshold: 3\n",
		"flow":  "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: login\tfailed}\n    threshold: 3\n",
	} {
		f, err := ParseRulesFileTests("rules.yaml", []byte(y))
		if err != nil {
			continue // refused: fine, if it says where
		}
		var v string
		_ = json.Unmarshal(f.Rules[0].When.Value, &v)
		if v != "login\tfailed" {
			t.Errorf("%s: value login<TAB>failed read as %q", name, v)
		}
	}
	ev := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: a}\n    threshold: 1\n" +
		"    tests:\n      - name: t\n        customer: c\n        events:\n          - type: a\n            msg: a\tb\n        expect: {alerts: 1}\n"
	f, err := ParseRulesFileTests("rules.yaml", []byte(ev))
	if err != nil {
		return
	}
	if got := string(f.Tests[0].Events[0]); got != `{"type":"a","msg":"a\tb"}` {
		t.Errorf("test event with msg: a<TAB>b is run as %s", got)
	}
}
