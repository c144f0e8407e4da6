package rule

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesFileShapes: every documented shape of a rules file — a bare list of rules, or
// a mapping with a rules list — is read alike in YAML (block and flow, the key plain or
// quoted) and in JSON (where the key is always quoted), and a bad file's problems keep
// their file and line. The files are in testdata/rulesfile.
func TestRulesFileShapes(t *testing.T) {
	mustLimits(t)
	// The rules every good file holds, as ParseRulesFile's rules marshal.
	const want = `[` +
		`{"id":"a","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},"aggregate":{"fn":"count"},"threshold":1},` +
		`{"id":"b","scope":"c-1","version":2,"when":{"all":[{"path":"$.actor.roles[*]","op":"==","value":"admin"},{"path":"$.severity","op":"\u003e=","value":3}]},"aggregate":{"fn":"count"},"threshold":3,"lookback":"30d"}` +
		`]`
	tests := []struct {
		file string
		// errs are what the error says, in order; none: the file holds want.
		errs []string
	}{
		{file: "list.yaml"},
		{file: "list-flow.yaml"},
		{file: "mapping-plain.yaml"},
		{file: "mapping-single.yaml"},
		{file: "mapping-double.yaml"},
		{file: "mapping-flow.yaml"},
		{file: "list.json"},
		{file: "mapping.json"},
		{file: "mapping-compact.json"},
		{file: "bad-rule.json", errs: []string{`bad-rule.json:4: rule #2 (id "broken")`, "when.path: column 12"}},
		{file: "bad-rule.yaml", errs: []string{`bad-rule.yaml:7: rule #2 (id "broken")`, "when.path: column 12"}},
		{file: "no-rules-key.json", errs: []string{"no-rules-key.json:1: expected a list of rules or a mapping with a rules list"}},
		{file: "rules-not-a-list.json", errs: []string{"rules-not-a-list.json:3: expected a list of rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "rulesfile", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rules, err := ParseRulesFile(tt.file, data)
			if len(tt.errs) > 0 {
				if err == nil {
					t.Fatalf("accepted %d rules; want an error", len(rules))
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %q is not ErrInvalid", err)
				}
				rest := err.Error()
				for _, w := range tt.errs {
					i := strings.Index(rest, w)
					if i < 0 {
						t.Fatalf("error %q lacks %q (in this order: %q)", err, w, tt.errs)
					}
					rest = rest[i+len(w):]
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(rules)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("rules\n got  %s\n want %s", got, want)
			}
		})
	}
}

// TestRulesFileKey: the rules key is found by its value, however YAML writes it.
func TestRulesFileKey(t *testing.T) {
	const list = "[{id: a, scope: '*', threshold: 1, when: {path: $.a}}]"
	tests := []struct {
		name, file string
		ok         bool
	}{
		{"plain", "rules: " + list, true},
		{"single quotes", "'rules': " + list, true},
		{"double quotes", `"rules": ` + list, true},
		{"JSON escape", `{"rul\u0065s": ` + list + "}", true},
		{"explicit key", "? rules\n: " + list, true},
		{"anchored key", "&k rules: " + list, true},
		{"string tag", "!!str rules: " + list, true},
		{"other keys beside", "version: 1\nrules: " + list + "\nowner: team", true},
		{"other key only", "rule: " + list, false},
		{"quotes are not the key", `"'rules'": ` + list, false},
		{"number key", "1: " + list, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := ParseRulesFile("r.yaml", []byte(tt.file))
			if tt.ok && (err != nil || len(rules) != 1 || rules[0].ID != "a") {
				t.Fatalf("ParseRulesFile(%q) = %v, %v; want rule a", tt.file, rules, err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "r.yaml:1: expected a list of rules or a mapping with a rules list")) {
				t.Fatalf("ParseRulesFile(%q) = %v, %v; want a positioned error", tt.file, rules, err)
			}
		})
	}
}

// TestRulesFileNumbersAreJSONs: a number in a rules file is the number JSON reads —
// the same rule as the control record or API body holding the same text. The YAML
// decoder read an unquoted exponent without a point (1e5) and integers past 64 bits as
// strings: `value: 1e5` compared as the text "1e5", silently, and a test's event
// {"bytes": 1e5} summed nothing. A quoted number stays a string.
func TestRulesFileNumbersAreJSONs(t *testing.T) {
	mustLimits(t)
	for _, tc := range []struct {
		name, file, control string
	}{
		{"JSON exponent", `{"rules":[{"id":"a","scope":"*","when":{"path":"$.n","op":">","value":1e5},"threshold":1e1}]}`,
			`{"id":"a","scope":"*","when":{"path":"$.n","op":">","value":1e5},"threshold":10}`},
		{"YAML exponent", "- id: a\n  scope: '*'\n  when: {path: $.n, op: '>=', value: -1E-7}\n  threshold: 1e+1\n",
			`{"id":"a","scope":"*","when":{"path":"$.n","op":">=","value":-1E-7},"threshold":10}`},
		{"in a list", "- id: a\n  scope: '*'\n  when: {path: $.n, op: in, value: [1e3, 2]}\n  threshold: 1\n",
			`{"id":"a","scope":"*","when":{"path":"$.n","op":"in","value":[1e3,2]},"threshold":1}`},
		{"quoted stays a string", "- id: a\n  scope: '*'\n  when: {path: $.n, op: '==', value: '1e5'}\n  threshold: 1\n",
			`{"id":"a","scope":"*","when":{"path":"$.n","op":"==","value":"1e5"},"threshold":1}`},
		{"a plain word stays a string", "- id: a\n  scope: '*'\n  when: {path: $.n, op: '==', value: e5}\n  threshold: 1\n",
			`{"id":"a","scope":"*","when":{"path":"$.n","op":"==","value":"e5"},"threshold":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) { sameAsControl(t, tc.file, tc.control, `{"n":100000.5}`) })
	}
	// An integer past 64 bits is the JSON number it writes, refused as the control's is
	// (beyond 2^53, not exact), not taken as the string of its text.
	_, ferr := ParseRulesFile("rules.yaml", []byte("- id: a\n  scope: '*'\n  when: {path: $.n, op: '==', value: 18446744073709551616}\n  threshold: 1\n"))
	_, cerr := ParseRule([]byte(`{"id":"a","scope":"*","when":{"path":"$.n","op":"==","value":18446744073709551616},"threshold":1}`))
	if ferr == nil || cerr == nil || !strings.HasSuffix(ferr.Error(), cerr.Error()) {
		t.Errorf("an integer past 64 bits: the rules file gives %v, the control %v; want both refused alike", ferr, cerr)
	}
	// A test's events are the JSON the live evaluator reads, members in the file's order.
	f, err := ParseRulesFileTests("rules.yaml", []byte("- id: a\n  scope: '*'\n  when: {path: $.n, op: '>', value: 1}\n  threshold: 1\n"+
		"  tests:\n  - name: t\n    customer: c-1\n    events: [{n: 1e5, big: 123456789012345678901234567890, s: '2e3'}]\n    expect: {alerts: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.Tests[0].Events[0]), `{"n":1e5,"big":123456789012345678901234567890,"s":"2e3"}`; got != want {
		t.Errorf("test event %s, want %s", got, want)
	}
}
