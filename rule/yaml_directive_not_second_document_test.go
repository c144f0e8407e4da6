package rule

import (
	"strings"
	"testing"
)

// TestYAMLDirectiveIsNotASecondDocument: a file that opens with a directive
// (`%YAML 1.2` or `%TAG`) and then "---" is one YAML document, the form the spec
// writes. It is refused as "a second YAML document: a rules or destinations file is
// one document", at the "---" line: a message that is false, and points the author at
// a separator every YAML guide tells them to write after a directive. It must be read
// as its one document (or refused naming the directive).
func TestYAMLDirectiveIsNotASecondDocument(t *testing.T) {
	mustLimits(t)
	const rule = "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.v, op: ==, value: a}\n    threshold: 1\n"
	for name, head := range map[string]string{
		"YAML 1.2":          "%YAML 1.2\n---\n",
		"TAG":               "%TAG !e! tag:example.com,2026:\n---\n",
		"comment then YAML": "# rules for acme\n%YAML 1.2\n---\n",
	} {
		t.Run(name, func(t *testing.T) {
			rules, err := ParseRulesFile("rules.yaml", []byte(head+rule))
			if err != nil {
				if strings.Contains(err.Error(), "second YAML document") {
					t.Errorf("one document refused as two: %v", err)
				}
				return
			}
			if len(rules) != 1 || rules[0].ID != "x" {
				t.Errorf("got %d rules", len(rules))
			}
		})
	}
	nf, err := ParseNotifyFile("d.yaml", []byte("%YAML 1.2\n---\ndestinations:\n  - {scope: \"*\", name: ops, type: webhook, url: \"https://example.com/hook\"}\n"))
	if err != nil && strings.Contains(err.Error(), "second YAML document") {
		t.Errorf("destinations file of one document refused as two: %+v, %v", nf, err)
	}
}
