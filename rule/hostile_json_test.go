package rule

import (
	"encoding/json"
	"testing"
)

// TestRuleJSONDuplicateKeyIsRefused: a rule's JSON naming a field twice is refused
// with the field named, as the rules file's YAML refuses it ("mapping key "threshold"
// already defined"). Taking the last silently made a console save or a control of
// {"threshold": 3, ..., "threshold": 300} a rule of 300.
func TestRuleJSONDuplicateKeyIsRefused(t *testing.T) {
	for _, js := range []string{
		`{"id":"x","scope":"*","when":{"path":"$.type","op":"==","value":"a"},"threshold":3,"threshold":300}`,
		`{"id":"x","scope":"*","when":{"path":"$.type","op":"==","value":"a"},"threshold":3,"when":{"path":"$.other","op":"==","value":"b"}}`,
		`{"id":"x","scope":"*","when":{"path":"$.type","op":"==","value":"a","value":"b"},"threshold":3}`,
	} {
		r, err := ParseDraft([]byte(js), "d")
		if err == nil {
			b, _ := json.Marshal(r)
			t.Errorf("%s\n  was accepted as %s", js, b)
		}
	}
	y := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type, op: ==, value: a}\n    threshold: 3\n    threshold: 300\n"
	if _, err := ParseRulesFile("f.yaml", []byte(y)); err == nil {
		t.Errorf("the YAML form was accepted too")
	}
}

// TestRuleJSONInvalidUTF8IsRefused: no event holds invalid UTF-8 (the evaluator refuses
// such documents), and a rule's scope and paths are refused with it; a string value
// with it must be too. It was accepted, its bytes turned into U+FFFD: the rule then
// compares with a value the author never wrote.
func TestRuleJSONInvalidUTF8IsRefused(t *testing.T) {
	for _, js := range []string{
		"{\"id\":\"x\",\"scope\":\"*\",\"when\":{\"path\":\"$.type\",\"op\":\"==\",\"value\":\"a\xff\"},\"threshold\":3}",
		"{\"id\":\"x\",\"scope\":\"*\",\"when\":{\"path\":\"$.type\",\"op\":\"in\",\"value\":[\"ok\",\"b\xfe\"]},\"threshold\":3}",
		"{\"id\":\"x\",\"scope\":\"*\",\"name\":\"n\xffm\",\"when\":{\"path\":\"$.type\",\"op\":\"==\",\"value\":\"a\"},\"threshold\":3}",
	} {
		r, err := ParseDraft([]byte(js), "d")
		if err == nil {
			b, _ := json.Marshal(r)
			t.Errorf("%q\n  was accepted as %s", js, b)
		}
	}
}
