package rule

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// TestCompactBlockNestingIsRefusedBeforeParsing: checkFlowNesting (now checkNesting)
// bounded flow nesting ([…], {…}) from the tokens before goccy/go-yaml's parser, whose
// cost is quadratic in depth, saw them; block nesting was left to the file size limit because it "needs
// indentation, so its depth costs the file quadratic bytes". Compact block sequences
// do not: "- - - - x" nests one level per 2 bytes, on one line. The depth limit
// (max_rule_json_depth, 64) was only checked after parsing (yamlCost.walk), so the
// parser paid first: 32 KB of "- " took 1.7 s, 128 KB 45 s and 6.2 GB of memory, and
// the 1 MiB file the max_rules_file_bytes default allows far more than a machine has.
//
// Rewritten from the hunt's test, which timed the refusal (our tests are not timed):
// the refusal must come from checkNesting, before parsing, which its message tells
// (the line and column of the entry that goes over, no rule named: yamlCost names the
// rule #), and what reading the file allocates must stay far below what parsing it
// cost (measured: 18 MiB for 128 KB, where the parser took 6.2 GB).
func TestCompactBlockNestingIsRefusedBeforeParsing(t *testing.T) {
	mustLimits(t)
	for _, tc := range []struct {
		name, file, want string
	}{
		// The 67th "-" (column 133) is 65 levels inside the file's list and a rule,
		// the two levels a rule may have around it.
		{"128 KB of compact entries", "- " + strings.Repeat("- ", 64<<10) + "x\n",
			"rule: invalid: rules.yaml:1:133: nesting deeper than 64 levels (limit max_rule_json_depth)"},
		// The first entry, at its key's column, is counted as the key's sibling: a level
		// less than it is, so that the one refused is past the limit.
		{"compact entries in a rule", "rules:\n  - id: x\n    v:\n    - " + strings.Repeat("- ", 64<<10) + "x\n",
			"rule: invalid: rules.yaml:4:133: nesting deeper than 64 levels (limit max_rule_json_depth)"},
		// Block and flow levels count together.
		{"flow inside compact entries", "- " + strings.Repeat("- ", 40) + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n",
			"rule: invalid: rules.yaml:1:108: nesting deeper than 64 levels (limit max_rule_json_depth)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ParseRulesFile("rules.yaml", []byte(tc.file))
			runtime.ReadMemStats(&after)
			if err == nil || !errors.Is(err, ErrInvalid) || err.Error() != tc.want {
				t.Fatalf("error\n got  %v\n want %s", err, tc.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("reading the file allocated %d MiB, want < 64: the parser ran", alloc>>20)
			}
		})
	}
}

// TestBlockNestingWithinTheLimitIsRead: the count from the tokens refuses no file a
// rule within the limit is written in: entries at a key's column, keys with tags and
// anchors, and explicit keys count no level of their own.
func TestBlockNestingWithinTheLimitIsRead(t *testing.T) {
	mustLimits(t)
	// 62 levels of compact entries under a rule's field: the rule's own mapping, the
	// field's list and 61 more, 63 in all.
	deep := "rules:\n  - id: x\n    scope: \"*\"\n    when: {path: $.type}\n    threshold: 1\n    alert:\n      context: [$.a]\n" +
		"    tests:\n    - name: t\n      customer: c\n      events:\n      - type: a\n        !!str k: &v\n        - " + strings.Repeat("- ", 50) + "x\n" +
		"        ? q\n        : 1\n      expect: {alerts: 1}\n"
	f, err := ParseRulesFileTests("rules.yaml", []byte(deep))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.Tests[0].Events[0]), `{"type":"a","k":`+strings.Repeat("[", 51)+`"x"`+strings.Repeat("]", 51)+`,"q":1}`; got != want {
		t.Errorf("event\n got  %s\n want %s", got, want)
	}
	// A block list nested as deep as a rule may be, indented one level a line.
	if _, err := ParseRulesFile("ok.yaml", []byte("- id: x\n  scope: \"*\"\n  threshold: 1\n  when: {path: $.a}\n  v:\n"+blockNest(62))); err == nil ||
		!strings.Contains(err.Error(), `unknown field "v"`) {
		// Read through to the rule's own validation: v is no field of a rule.
		t.Errorf("a rule 64 levels deep: %v", err)
	}
}

// BenchmarkCompactBlockNesting: the cost of refusing 128 KB of compact block entries
// (the parser had taken 45 s).
func BenchmarkCompactBlockNesting(b *testing.B) {
	file := []byte("- " + strings.Repeat("- ", 64<<10) + "x\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRulesFile("rules.yaml", file); err == nil {
			b.Fatal("accepted")
		}
	}
}
