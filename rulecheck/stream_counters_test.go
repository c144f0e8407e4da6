package rulecheck_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
	"github.com/hindsightdev/hindsight/window"
)

// TestStreamBoundsPlainCounts: under --max-counters 2 (Limits.MaxCounters), a plain
// count over three customers counts the first two, as live would: the third's matches
// are not counted, and the rule is Degraded in live's words.
func TestStreamBoundsPlainCounts(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`
- {id: plain, scope: "*", threshold: 1, when: {path: $.type, op: ==, value: x}}
`))
	if err != nil {
		t.Fatal(err)
	}
	events := strings.Join([]string{
		`{"customer":"c1","type":"x"}`,
		`{"customer":"c2","type":"x"}`,
		`{"customer":"c3","type":"x"}`,
		`{"customer":"c1","type":"x"}`,
		`{"customer":"c3","type":"x"}`,
	}, "\n")
	sum, err := rulecheck.Stream(context.Background(), rulecheck.StreamConfig{Rules: rules, Events: strings.NewReader(events), Limits: window.Limits{MaxCounters: 2}}, func(*rulecheck.Line) {})
	if err != nil {
		t.Fatal(err)
	}
	plain := rule.Key{Scope: "*", ID: "plain"}
	if got, want := sum.Counts[plain], map[string]int64{"c1": 2, "c2": 1}; !maps.Equal(got, want) {
		t.Errorf("plain's counts %v, want %v", got, want)
	}
	const want = "counter store full (at --max-counters 2 counters): 2 matches that needed a new counter were not counted"
	if got := sum.Degraded[plain]; got != want {
		t.Errorf("plain's degraded %q, want %q", got, want)
	}
}

// TestInterruptedStreamIsFinished: a run interrupted part way (a signal) reports the
// lines before the interruption as a finished run does: a plain count's figures as
// the replay bounded them, and its degraded reason. The interrupted return gave the
// raw match counts, and no degraded reason, printed as a finished run's.
func TestInterruptedStreamIsFinished(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`
- {id: plain, scope: "*", threshold: 1, when: {path: $.type, op: ==, value: x}}
`))
	if err != nil {
		t.Fatal(err)
	}
	events := strings.Join([]string{
		`{"customer":"c1","type":"x"}`,
		`{"customer":"c2","type":"x"}`,
		`{"customer":"c3","type":"x"}`,
		`{"customer":"c1","type":"x"}`,
		`{"customer":"c4","type":"x"}`,
	}, "\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := 0
	sum, err := rulecheck.Stream(ctx, rulecheck.StreamConfig{Rules: rules, Events: strings.NewReader(events), Limits: window.Limits{MaxCounters: 2}}, func(*rulecheck.Line) {
		if seen++; seen == 4 {
			cancel() // the fifth line is not read
		}
	})
	if err == nil || !strings.Contains(err.Error(), "interrupted at line 5") {
		t.Fatalf("Stream: %v, want interrupted at line 5", err)
	}
	plain := rule.Key{Scope: "*", ID: "plain"}
	if got, want := sum.Counts[plain], map[string]int64{"c1": 2, "c2": 1}; !maps.Equal(got, want) {
		t.Errorf("plain's counts of the four lines read %v, want %v (c3's match needed a counter past --max-counters 2)", got, want)
	}
	const want = "counter store full (at --max-counters 2 counters): 1 matches that needed a new counter were not counted"
	if got := sum.Degraded[plain]; got != want {
		t.Errorf("plain's degraded %q, want %q", got, want)
	}
}
