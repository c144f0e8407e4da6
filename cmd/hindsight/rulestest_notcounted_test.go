package main

import (
	"strings"
	"testing"
)

// TestRulesTestSaysMatchesNotCounted: a windowed rule with a time path, threshold 2,
// over three matching events, one without a usable time ("yesterday") and one a year
// before the watermark (late): rules test showed each line matched, MATCHES 3 against
// >= 2 and no alert, and said nothing of why, where backtest prints "not counted: 1
// late, 1 without a usable time" and live counts both. The summary says it in the same
// words, and --json's per-rule record carries late and time_errors as backtest's JSON.
func TestRulesTestSaysMatchesNotCounted(t *testing.T) {
	t.Parallel()
	rules := tempFile(t, "rules.yaml", `rules:
  - id: burst
    scope: "*"
    when: {path: $.type, op: ==, value: x}
    group_by: [$.u]
    window: {size: 10m}
    time: $.ts
    threshold: 2
  - {id: plain, scope: "*", when: {path: $.type, op: ==, value: x}, threshold: 9}
`)
	ev := `{"customer":"c1","type":"x","u":"a","ts":"2026-01-01T00:00:00Z"}
{"customer":"c1","type":"x","u":"a","ts":"yesterday"}
{"customer":"c1","type":"x","u":"a","ts":"2025-01-01T00:00:00Z"}
`
	out, err := run(t, ev, "rules", "test", "-f", rules, "-")
	if err != nil {
		t.Fatalf("rules test: %v\n%s", err, out)
	}
	const want = `
3 events (0 skipped), 2 rules
RULE     VERSION  THRESHOLD  MATCHES  CUSTOMERS AT THRESHOLD
*/burst  1        >= 2       3        -
*/plain  1        >= 9       3        -
*/burst: not counted: 1 late, 1 without a usable time (among its matches above; live leaves them out too)
`
	if !strings.HasSuffix(out, want) {
		t.Errorf("rules test summary:\n%s\nwant it to end:\n%s", out, want)
	}

	out, err = run(t, ev, "rules", "test", "--json", "-f", rules, "-")
	if err != nil {
		t.Fatalf("rules test --json: %v\n%s", err, out)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 || lines[3] != `{"late":1,"rule":"*/burst","time_errors":1}` {
		t.Errorf("rules test --json: want 3 event records and the rule's record {\"late\":1,\"rule\":\"*/burst\",\"time_errors\":1}, got:\n%s", out)
	}
}
