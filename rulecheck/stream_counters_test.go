package rulecheck_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
	"github.com/hindsightdev/hindsight/window"
)

// TestStreamBoundsPlainCounts: under --max-counters 2 (Limits.MaxCounters), a plain
// count over three customers counts the first two, as live would: the third's matches
// are not counted, and the rule is Degraded in live's words. A run interrupted part
// way (a signal) reports the lines before the interruption alike: its interrupted
// return gave the raw match counts and no degraded reason, printed as a finished run's.
func TestStreamBoundsPlainCounts(t *testing.T) {
	rules, err := rule.ParseRulesFile("rules.yaml", []byte(`
- {id: plain, scope: "*", threshold: 1, when: {path: $.type, op: ==, value: x}}
`))
	if err != nil {
		t.Fatal(err)
	}
	plain := rule.Key{Scope: "*", ID: "plain"}
	for _, tc := range []struct {
		name      string
		customers []string // one event each, in order
		stopAfter int      // lines handed to each before the context ends; 0: none
		wantErr   string
		want      map[string]int64
		refused   int
	}{
		{"whole input", []string{"c1", "c2", "c3", "c1", "c3"}, 0, "", map[string]int64{"c1": 2, "c2": 1}, 2},
		{"interrupted after four lines", []string{"c1", "c2", "c3", "c1", "c4"}, 4, "interrupted at line 5", map[string]int64{"c1": 2, "c2": 1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var events []string
			for _, c := range tc.customers {
				events = append(events, `{"customer":"`+c+`","type":"x"}`)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			seen := 0
			sum, err := rulecheck.Stream(ctx, rulecheck.StreamConfig{Rules: rules, Events: strings.NewReader(strings.Join(events, "\n")), Limits: window.Limits{MaxCounters: 2}}, func(*rulecheck.Line) {
				if seen++; seen == tc.stopAfter {
					cancel()
				}
			})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Stream: %v, want %q", err, tc.wantErr)
			}
			if got := sum.Counts[plain]; !maps.Equal(got, tc.want) {
				t.Errorf("plain's counts %v, want %v", got, tc.want)
			}
			want := fmt.Sprintf("counter store full (at --max-counters 2 counters): %d matches that needed a new counter were not counted", tc.refused)
			if got := sum.Degraded[plain]; got != want {
				t.Errorf("plain's degraded %q, want %q", got, want)
			}
		})
	}
}
