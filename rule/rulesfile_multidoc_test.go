package rule

import (
	"errors"
	"strings"
	"testing"
)

// TestRulesFileSecondDocument: a rules or destinations file is one YAML document. One
// of several ("---" between them) held the first document's rules alone: `rules apply`
// published, and `rules test` passed, a file whose second half never reached the
// daemon, without a word. A second document is refused at its line; empty documents (a
// leading or trailing "---") are none.
func TestRulesFileSecondDocument(t *testing.T) {
	mustLimits(t)
	const a = `- id: a
  scope: "*"
  version: 1
  when: {path: $.type, op: ==, value: x}
  threshold: 1
`
	const b = `- id: b
  scope: "*"
  version: 1
  when: {path: $.type, op: ==, value: y}
  threshold: 1
`
	for _, tc := range []struct {
		name, file string
		wantErr    string // "" for the file's rule a alone
	}{
		{"two documents", a + "---\n" + b, "f.yaml:6: a second YAML document"},
		{"leading separator", "---\n" + a, ""},
		{"trailing separator", a + "---\n", ""},
		{"empty document between", "---\n" + a + "---\n---\n" + b, "f.yaml:7: a second YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRulesFile("f.yaml", []byte(tc.file))
			switch {
			case tc.wantErr != "":
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got %d rules, error %v; want an error naming %q", len(got), err, tc.wantErr)
				}
			case err != nil || len(got) != 1 || got[0].ID != "a":
				t.Errorf("got %d rules, error %v; want rule a", len(got), err)
			}
		})
	}

	const dests = `rules: []
---
destinations:
  - {scope: "*", name: ops, type: webhook, url: "https://example.com/hook"}
`
	nf, err := ParseNotifyFile("d.yaml", []byte(dests))
	if err == nil || !strings.Contains(err.Error(), "d.yaml:2: a second YAML document") {
		t.Errorf("destinations file of two documents: %+v, error %v; want the second document refused at line 2", nf, err)
	}
}

// TestRulesFileWithByteOrderMark: a file that starts with a UTF-8 byte order mark (YAML
// allows one) holds what the same file without it holds; it was refused with "mapping
// value is not allowed in this context" at line 1.
func TestRulesFileWithByteOrderMark(t *testing.T) {
	mustLimits(t)
	const file = "- id: a\n  scope: \"*\"\n  version: 1\n  when: {path: $.type, op: ==, value: x}\n  threshold: 1\n"
	for _, text := range []string{file, `{"rules": [{"id": "a", "scope": "*", "version": 1, "when": {"path": "$.type", "op": "==", "value": "x"}, "threshold": 1}]}`} {
		got, err := ParseRulesFile("f.yaml", []byte("\uFEFF"+text))
		if err != nil || len(got) != 1 || got[0].ID != "a" {
			t.Errorf("%q after a byte order mark: %d rules, error %v; want rule a", text, len(got), err)
		}
	}
}
