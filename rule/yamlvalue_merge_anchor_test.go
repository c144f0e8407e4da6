package rule

import "testing"

// TestRulesFileMergeOfAnAnchorWrittenBefore: a merge key may merge a mapping anchored
// earlier in the same mapping ({actor: &e {…}, <<: *e}): YAML resolves an alias to the
// anchor written before it in the file, and the file decoded so. mergesFirst moves the
// merge key before the key that defines the anchor, and the decoder, meeting the alias
// first, refuses the rule ("cannot find anchor by alias name e").
func TestRulesFileMergeOfAnAnchorWrittenBefore(t *testing.T) {
	mustLimits(t)
	f, err := ParseRulesFileTests("rules.yaml", []byte("- id: a\n  scope: '*'\n  when: {path: $.user, op: '==', value: b}\n  threshold: 1\n"+
		"  tests:\n  - name: t\n    customer: c-1\n    events:\n    - {actor: &e {user: b, type: login}, <<: *e}\n    expect: {alerts: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.Tests[0].Events[0]), `{"actor":{"user":"b","type":"login"},"user":"b","type":"login"}`; got != want {
		t.Errorf("test event %s, want %s", got, want)
	}
}
