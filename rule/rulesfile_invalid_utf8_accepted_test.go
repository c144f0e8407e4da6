package rule

import (
	"testing"
)

// TestRulesFileInvalidUTF8IsRefused: a rules file with bytes that are not UTF-8 must
// be refused at their line, as the same rule in a control or API body is (checkUTF8:
// "not UTF-8 at byte offset"). The file was accepted, the bytes read as U+FFFD: the
// rule's scope or compared value became text its author never wrote, silently.
func TestRulesFileInvalidUTF8IsRefused(t *testing.T) {
	mustLimits(t)
	for _, tc := range []struct{ name, file string }{
		{"JSON scope", "[{\"id\":\"a\",\"scope\":\"c-\x80\",\"threshold\":1,\"when\":{\"path\":\"$.a\"}}]"},
		{"JSON value", "[{\"id\":\"a\",\"scope\":\"*\",\"threshold\":1,\"when\":{\"path\":\"$.a\",\"op\":\"==\",\"value\":\"ad\xffmin\"}}]"},
		{"YAML value", "- id: a\n  scope: '*'\n  threshold: 1\n  when: {path: $.a, op: '==', value: \"ad\xffmin\"}\n"},
		{"YAML plain value", "- id: a\n  scope: '*'\n  threshold: 1\n  when: {path: $.a, op: '==', value: ad\xc3min}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := ParseRulesFile("rules.yaml", []byte(tc.file))
			if err == nil {
				t.Errorf("rules file with bytes not UTF-8 accepted: scope %q, value %q; want it refused", rules[0].Scope, rules[0].When.Operand())
			}
		})
	}
}
