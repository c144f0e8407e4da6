package rule

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRuleAtMaxRuleBytesExactly: a rule whose compact JSON is max_rule_bytes exactly is
// valid, one a byte larger is refused naming the limit; and a rule's text may be
// rawSlack times that limit, whitespace included, before it is refused undecoded. No
// test held a rule at either bound: both comparisons could be made strict.
func TestRuleAtMaxRuleBytesExactly(t *testing.T) {
	mustLimits(t)
	lim := CurrentLimits()
	withDescription := func(n int) string {
		return `{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a"},"description":"` + strings.Repeat("d", n) + `"}`
	}
	r, err := ParseRule([]byte(withDescription(1))) // empty, it is left out
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	pad := lim.MaxRuleBytes - len(b) + 1
	r, err = ParseRule([]byte(withDescription(pad)))
	if err != nil {
		t.Fatalf("a rule of %d bytes of compact JSON, max_rule_bytes exactly: %v", lim.MaxRuleBytes, err)
	}
	if b, _ := json.Marshal(r); len(b) != lim.MaxRuleBytes {
		t.Fatalf("the rule is %d bytes of compact JSON; the test meant %d", len(b), lim.MaxRuleBytes)
	}
	_, err = ParseRule([]byte(withDescription(pad + 1)))
	if want := `invalid rule "x": rule: is 65537 bytes of JSON; at most 65536 (limit max_rule_bytes)`; err == nil || err.Error() != want {
		t.Errorf("a rule a byte over max_rule_bytes: %v; want %s", err, want)
	}

	// Text of rawSlack×max_rule_bytes bytes, all but a small rule of it whitespace.
	small := `{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a"}}`
	spaced := func(n int) []byte {
		return []byte(small[:1] + strings.Repeat(" ", n-len(small)) + small[1:])
	}
	if _, err := ParseRule(spaced(rawSlack * lim.MaxRuleBytes)); err != nil {
		t.Errorf("a rule of %d bytes of text, rawSlack×max_rule_bytes exactly: %v", rawSlack*lim.MaxRuleBytes, err)
	}
	_, err = ParseRule(spaced(rawSlack*lim.MaxRuleBytes + 1))
	if want := `invalid rule: rule: record is 262145 bytes; a rule is at most 65536 bytes of compact JSON (limit max_rule_bytes)`; err == nil || err.Error() != want {
		t.Errorf("a rule's text a byte over rawSlack×max_rule_bytes: %v; want %s", err, want)
	}
}

// TestRegexAtMaxRegexProgramExactly: a pattern estimated at max_rule_regex_program
// instructions exactly (1,000 + 1,000 + 48 = 2,048) is valid; one more is refused.
func TestRegexAtMaxRegexProgramExactly(t *testing.T) {
	mustLimits(t)
	rule := func(pattern string) []byte {
		return []byte(`{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a","op":"matches","value":"` + pattern + `"}}`)
	}
	if _, err := ParseRule(rule("a{1000}b{1000}c{48}")); err != nil {
		t.Errorf("a pattern of 2048 instructions: %v", err)
	}
	_, err := ParseRule(rule("a{1000}b{1000}c{49}"))
	if want := `invalid rule "x": when.value: pattern compiles to more than 2048 RE2 instructions (limit max_rule_regex_program); shorten it or bound its repetition`; err == nil || err.Error() != want {
		t.Errorf("a pattern of 2049 instructions: %v; want %s", err, want)
	}
}

// TestRulesFileAtMaxRulesFileBytesExactly: a rules file of max_rules_file_bytes bytes
// exactly is read; one of a byte more is refused naming the limit. It sets the limits
// in force, so it does not run in parallel.
func TestRulesFileAtMaxRulesFileBytesExactly(t *testing.T) {
	mustLimits(t)
	t.Cleanup(func() {
		if err := SetLimits(DefaultLimits); err != nil {
			t.Fatal(err)
		}
	})
	file := []byte("- id: a\n  scope: \"*\"\n  when: {path: $.type}\n  threshold: 2\n")
	lim := DefaultLimits
	lim.MaxRulesFileBytes = len(file)
	if err := SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	if rules, err := ParseRulesFile("r.yaml", file); err != nil || len(rules) != 1 {
		t.Errorf("a file of max_rules_file_bytes (%d) exactly: %d rules, %v", len(file), len(rules), err)
	}
	lim.MaxRulesFileBytes = len(file) - 1
	if err := SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	_, err := ParseRulesFile("r.yaml", file)
	if want := `rule: invalid: r.yaml: file is 59 bytes; at most 58 (limit max_rules_file_bytes)`; err == nil || err.Error() != want {
		t.Errorf("a file a byte over max_rules_file_bytes: %v; want %s", err, want)
	}
}

// TestReadRulesFileBytesAtTheLimitExactly: reading a rules file from disk takes one of
// max_rules_file_bytes bytes exactly, whole, and refuses one a byte larger, as parsing
// does. It sets the limits in force, so it does not run in parallel.
func TestReadRulesFileBytesAtTheLimitExactly(t *testing.T) {
	mustLimits(t)
	t.Cleanup(func() {
		if err := SetLimits(DefaultLimits); err != nil {
			t.Fatal(err)
		}
	})
	file := []byte("- id: a\n  scope: \"*\"\n  when: {path: $.type}\n  threshold: 2\n")
	path := filepath.Join(t.TempDir(), "r.yaml")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	lim := DefaultLimits
	lim.MaxRulesFileBytes = len(file)
	if err := SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadRulesFileBytes(path); err != nil || string(data) != string(file) {
		t.Errorf("a file of max_rules_file_bytes (%d) exactly: %q, %v", len(file), data, err)
	}
	lim.MaxRulesFileBytes = len(file) - 1
	if err := SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	_, err := ReadRulesFileBytes(path)
	if want := "rule: invalid: " + path + ": file is larger than 58 bytes (limit max_rules_file_bytes)"; err == nil || err.Error() != want {
		t.Errorf("a file a byte over max_rules_file_bytes: %v; want %s", err, want)
	}
}
