package rule

import (
	"strings"
	"testing"
)

// TestRulesFileCostAtTheLimitExactly: a rules file whose rules cost, every use of a
// YAML alias counted in full, max_rules_file_bytes exactly is read; at a byte less it
// is refused at the rule that goes past, naming the limit. The file's text is smaller
// than its cost (a condition of a 100-byte value used three times by alias), so only
// the cost decides. TestRulesFileAtMaxRulesFileBytesExactly holds the text, not the cost, at
// the bound: the cost's comparison could be made strict unseen. It sets the limits in
// force, so it does not run in parallel.
func TestRulesFileCostAtTheLimitExactly(t *testing.T) {
	mustLimits(t)
	t.Cleanup(func() {
		if err := SetLimits(DefaultLimits); err != nil {
			t.Fatal(err)
		}
	})
	// One rule: anchors are a rule's own. Its condition, with a value of 100 bytes,
	// written once and used three times.
	file := []byte("- id: a\n  scope: \"*\"\n  when: {all: [&c {path: $.type, op: contains, value: " + strings.Repeat("d", 100) + "}, *c, *c]}\n  threshold: 2\n")
	// The rule's mapping 1, id 2+1, scope 5+1, when 4 + mapping 1 + all 3 + list 1 +
	// three conditions of mapping 1 + path 4 + $.type 6 + op 2 + contains 8 + value
	// 5+100, threshold 9+1.
	const cost = 1 + 3 + 6 + 4 + 1 + 3 + 1 + 3*(1+4+6+2+8+5+100) + 10
	if len(file) >= cost {
		t.Fatalf("the file's text is %d bytes, not below its cost %d", len(file), cost)
	}
	for _, tt := range []struct {
		limit int
		want  string // "": read
	}{
		{cost, ""},
		{cost - 1, "r.yaml:1: rule #1: rule: invalid: the rules up to this one are larger than 406 bytes, counting every use of a YAML alias in full (limit max_rules_file_bytes)"},
	} {
		lim := DefaultLimits
		lim.MaxRulesFileBytes = tt.limit
		if err := SetLimits(lim); err != nil {
			t.Fatal(err)
		}
		rules, err := ParseRulesFile("r.yaml", file)
		switch {
		case tt.want == "" && (err != nil || len(rules) != 1):
			t.Errorf("max_rules_file_bytes %d, the file's cost exactly: %d rules, %v", tt.limit, len(rules), err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("max_rules_file_bytes %d, a byte under the file's cost: %v; want %s", tt.limit, err, tt.want)
		}
	}
}

// TestRuleCostAtMaxRuleBytesExactly: a rule of a rules file costing max_rule_bytes
// exactly, as rulesfile.go measures the YAML before decoding it, is read; one costing a
// byte more is refused naming the limit. The threshold is written with trailing zeros,
// which cost their bytes in the YAML and none in the rule's JSON, so that the JSON's
// own bound (TestRuleAtMaxRuleBytesExactly) stays far off and only the YAML's cost
// decides. It sets the limits in force, so it does not run in parallel.
func TestRuleCostAtMaxRuleBytesExactly(t *testing.T) {
	mustLimits(t)
	t.Cleanup(func() {
		if err := SetLimits(DefaultLimits); err != nil {
			t.Fatal(err)
		}
	})
	lim := DefaultLimits
	lim.MaxRuleBytes = 200
	if err := SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	// The rule's mapping 1, id 2+1, scope 5+1, when 4 + mapping 1 + path 4 + $.type 6,
	// threshold 9 + the number's text.
	const others = 1 + 3 + 6 + 15 + 9
	file := func(cost int) []byte {
		return []byte("- id: a\n  scope: \"*\"\n  when: {path: $.type}\n  threshold: 2." + strings.Repeat("0", cost-others-2) + "\n")
	}
	if rules, err := ParseRulesFile("r.yaml", file(200)); err != nil || len(rules) != 1 || rules[0].Threshold.Count() != 2 {
		t.Errorf("a rule costing max_rule_bytes (200) exactly: %d rules, %v", len(rules), err)
	}
	_, err := ParseRulesFile("r.yaml", file(201))
	if want := "r.yaml:4: rule #1: rule: invalid: the rule is larger than 200 bytes (limit max_rule_bytes)"; err == nil || err.Error() != want {
		t.Errorf("a rule costing a byte over max_rule_bytes: %v; want %s", err, want)
	}
}
