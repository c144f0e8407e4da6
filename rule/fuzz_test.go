package rule

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzParseControl: any bytes on the controls topic give a control or an error that
// matches ErrInvalid; never a panic, never a valid control that fails to index or
// exceeds max_rule_bytes.
func FuzzParseControl(f *testing.F) {
	for _, s := range []string{
		`{"op":"upsert","rule":{"id":"a","scope":"*","threshold":5,"when":{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.actor.roles[*]","op":"==","value":"admin"}]},"lookback":"720h"}}`,
		`{"op":"delete","scope":"*","id":"a"}`,
		`{"op":"upsert","rule":{"id":"b","scope":"c-1","threshold":1,"when":{"any":[{"not":{"path":"$..x"}},{"path":"$.a[?@.b > 2]","op":"in","value":[1,"2",null]}]}}}`,
		`{"op":"upsert","rule":{"id":"c","scope":"*","threshold":1,"when":{"path":"$.s","op":"matches","value":"^a+$"}}}`,
		`{"op":`, `[]`, `null`, ``,
		// At and past the limits.
		`{"op":"upsert","rule":{"id":"d","scope":"*","threshold":1,"when":` + strings.Repeat(`{"not":`, 17) + `{"path":"$.a"}` + strings.Repeat(`}`, 17) + `}}`,
		`{"op":"upsert","rule":{"id":"j","scope":"*","threshold":1,"when":{"path":"$.a","op":"==","value":` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70) + `}}}`,
		`{"op":"upsert","rule":{"id":"v","scope":"*","version":9007199254740993,"threshold":1,"lookback":"213504d","when":{"path":"$.a"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseControl(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if c.Op == OpUpsert {
			if _, err := NewSet([]*Rule{c.Rule}); err != nil {
				t.Fatalf("valid control %s does not index: %v", data, err)
			}
			if b, _ := json.Marshal(c.Rule); len(b) > CurrentLimits().MaxRuleBytes {
				t.Fatalf("valid control's rule is %d bytes of JSON", len(b))
			}
		}
	})
}

// FuzzParseRulesFile: any bytes as a rules file give valid rules or an error; never a
// panic, and aliases never make a rule beyond max_rule_bytes.
func FuzzParseRulesFile(f *testing.F) {
	for _, s := range []string{
		"- {id: a, scope: '*', threshold: 1, when: {path: $.a}}\n",
		"rules:\n  - id: a\n    scope: '*'\n    threshold: 1\n    when:\n      any:\n        - &x {path: $.a, op: ==, value: 1}\n        - not: *x\n",
		billionLaughs,
		"- &a [*a]\n",
		"- id: a\n  when: !!map {<<: *m}\n",
		`[{"id":"a","scope":"*","threshold":1,"when":{"path":"$.a"}}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseRulesFile("f.yaml", data)
		if err != nil {
			return
		}
		if _, err := NewSet(rules); err != nil {
			t.Fatalf("valid rules do not index: %v", err)
		}
		for _, r := range rules {
			if b, _ := json.Marshal(r); len(b) > CurrentLimits().MaxRuleBytes {
				t.Fatalf("rule %s is %d bytes of JSON", r.ID, len(b))
			}
		}
	})
}
