package main

import (
	"strings"
	"testing"
)

// TestRulesTestJSONRuleRecords: --json's record per rule after the event records, and
// the summary's "not counted" line, come of each reason alone. Of the two kinds of
// match a window did not count, late or without a usable time, either alone makes
// them (TestRulesTestSaysMatchesNotCounted has both at once, so a test losing either
// half said all were counted); window counters that are neither (alerts suppressed)
// make none; and --max-customers reached makes the record on its own, with what was
// not counted, where only the summary's line said it.
func TestRulesTestJSONRuleRecords(t *testing.T) {
	t.Parallel()
	const burst = `rules:
  - id: burst
    scope: "*"
    when: {path: $.type, op: ==, value: x}
    group_by: [$.u]
    window: {size: 10m}
    time: $.ts
    threshold: 2
`
	// Alerts of the windows after the first are suppressed for an hour: the rule's
	// window counters are not all zero, but every match is counted.
	const suppressed = `rules:
  - id: s
    scope: "*"
    when: {path: $.type, op: ==, value: x}
    window: {size: 1m}
    time: $.ts
    threshold: 1
    alert: {suppress: 1h}
`
	const counts = `rules:
  - {id: p, scope: "*", when: {path: $.type, op: ==, value: x}, threshold: 2}
`
	event := func(c, ts string) string {
		return `{"customer":"` + c + `","type":"x","u":"a","ts":"` + ts + `"}` + "\n"
	}
	onTime, late, noTime := event("c1", "2026-01-01T00:00:00Z"), event("c1", "2025-01-01T00:00:00Z"), event("c1", "yesterday")
	for _, tt := range []struct {
		name, rules, events string
		flags               []string
		text                string // the summary's last line when it says more than the table; "" none
		json                string // the rule's record; "" none
	}{
		{"late only", burst, onTime + late, nil,
			"*/burst: not counted: 1 late, 0 without a usable time (among its matches above; live leaves them out too)", `{"late":1,"rule":"*/burst","time_errors":0}`},
		{"no usable time only", burst, onTime + noTime, nil,
			"*/burst: not counted: 0 late, 1 without a usable time (among its matches above; live leaves them out too)", `{"late":0,"rule":"*/burst","time_errors":1}`},
		{"every match counted", burst, onTime + onTime, nil, "", ""},
		{"alerts suppressed", suppressed, onTime + event("c1", "2026-01-01T00:01:00Z") + event("c1", "2026-01-01T00:02:00Z"), nil, "", ""},
		{"max customers reached", counts, event("c1", "2026-01-01T00:00:00Z") + event("c2", "2026-01-01T00:00:00Z") + event("c2", "2026-01-01T00:00:00Z"), []string{"--max-customers", "1"},
			"*/p: --max-customers (1) reached: 2 matches of other customers not counted (MATCHES has them): the counts listed are whole, customers beyond them at the threshold are missing",
			`{"alerts_not_counted":0,"matches_not_counted":2,"max_customers_reached":true,"rule":"*/p"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rules := tempFile(t, "rules.yaml", tt.rules)
			args := append(append([]string{"rules", "test"}, tt.flags...), "-f", rules, "-")
			out, err := run(t, tt.events, args...)
			if err != nil {
				t.Fatalf("rules test: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			last := lines[len(lines)-1]
			if tt.text == "" {
				if strings.Contains(out, "not counted") {
					t.Errorf("rules test summary says matches were not counted where each one was:\n%s", out)
				}
			} else if last != tt.text {
				t.Errorf("rules test summary ends %q, want %q; printed:\n%s", last, tt.text, out)
			}

			out, err = run(t, tt.events, append([]string{"rules", "test", "--json"}, args[2:]...)...)
			if err != nil {
				t.Fatalf("rules test --json: %v\n%s", err, out)
			}
			lines = strings.Split(strings.TrimSpace(out), "\n")
			events := strings.Count(tt.events, "\n")
			want := events // a record per event
			if tt.json != "" {
				want++
			}
			if len(lines) != want || tt.json != "" && lines[events] != tt.json {
				t.Errorf("rules test --json: want %d event records and the rule's record %s, got:\n%s", events, tt.json, out)
			}
		})
	}
}
