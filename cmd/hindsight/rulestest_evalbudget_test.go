package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesTestSaysEvalCutShort: `rules test` evaluates events with the evaluator live
// runs, under --max-rule-eval-work. On an event where $..a..b runs out of that work
// budget the rule misses the event, as in live, which counts it; `rules test` printed
// "(none)" and a clean summary, a cut-short verdict read as the answer (a review
// helper's test). It says so on the line, in --json and in the summary; raising the
// flag shows the rule matching. Not parallel: the work budget is process-wide and run
// executes in this process.
func TestRulesTestSaysEvalCutShort(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	writeFile(t, rules, "rules:\n  - {id: nested-b, scope: \"*\", when: {path: \"$..a..b\"}, threshold: 2}\n")
	const depth, width = 990, 100_000
	deep := `{"customer":"c-1","x":` + strings.Repeat(`{"a":`, depth) + "[0" + strings.Repeat(",0", width-1) + "]" + strings.Repeat(`}`, depth) + `,"y":{"a":{"b":1}}}`
	events := filepath.Join(dir, "events.ndjson")
	writeFile(t, events, `{"customer":"c-1","y":{"a":{"b":1}}}`+"\n"+deep+"\n")

	whole, err := run(t, "", "rules", "test", "-f", rules, "--max-rule-eval-work", "1000000000", events)
	if err != nil || !strings.Contains(whole, "events.ndjson:2: customer c-1: */nested-b@v1\n") || strings.Contains(whole, "work budget") {
		t.Fatalf("with --max-rule-eval-work 1e9: %v\n%s", err, whole)
	}
	for _, tc := range []struct {
		flags []string
		want  []string
	}{
		{nil, []string{
			"events.ndjson:2: customer c-1: (none) (1 evaluation of rule paths ran out of their work budget, --max-rule-eval-work: a rule may have missed this event, as live would)\n",
			"1 event had rule path evaluations cut short by their work budget (--max-rule-eval-work)",
		}},
		{[]string{"--json"}, []string{`{"customer":"c-1","eval_cut_short":1,"line":2,"rules":[]}`}},
	} {
		out, err := run(t, "", append(append([]string{"rules", "test", "-f", rules}, tc.flags...), events)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.flags, err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.flags, w, out)
			}
		}
	}
}
