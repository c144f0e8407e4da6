package rule

import (
	"errors"
	"strings"
	"testing"
)

// TestYAMLTagsNotYAMLsOwnAreRefused: a tag that is not one of YAML's own was dropped
// by the decoder, its value kept: `value: !Ref x` (a habit from other tools) compared
// with the string "x" without a word. It is refused at its line; YAML's own tags keep
// their meaning.
func TestYAMLTagsNotYAMLsOwnAreRefused(t *testing.T) {
	mustLimits(t)
	rules := func(value string) string {
		return "- id: a\n  scope: \"*\"\n  version: 1\n  when: {path: $.code, op: ==, value: " + value + "}\n  threshold: 1\n"
	}
	for _, tc := range []struct {
		value, wantErr, wantValue string
	}{
		{"!Ref x", `f.yaml:4: rule #1: rule: invalid: unknown YAML tag !Ref`, ""},
		{"!custom 5", `f.yaml:4: rule #1: rule: invalid: unknown YAML tag !custom`, ""},
		{"!!str 02142", "", `"02142"`},
		{"! x", "", `"x"`}, // YAML's non-specific tag
	} {
		got, err := ParseRulesFile("f.yaml", []byte(rules(tc.value)))
		switch {
		case tc.wantErr != "":
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("value %s: error %v; want one naming %q", tc.value, err, tc.wantErr)
			}
		case err != nil || len(got) != 1:
			t.Errorf("value %s: %d rules, error %v", tc.value, len(got), err)
		default:
			if v := string(got[0].When.Value); v != tc.wantValue {
				t.Errorf("value %s: the rule compares with %s, want %s", tc.value, v, tc.wantValue)
			}
		}
	}

	const dests = "destinations:\n  - scope: \"*\"\n    name: ops\n    type: !Webhook webhook\n    url: https://example.com/h\n"
	if _, err := ParseNotifyFile("d.yaml", []byte(dests)); err == nil || !strings.Contains(err.Error(), "d.yaml:4:") || !strings.Contains(err.Error(), "unknown YAML tag !Webhook") {
		t.Errorf("destinations file with a tag of its own: %v; want it refused at line 4", err)
	}
}
