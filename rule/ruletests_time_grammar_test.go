package rule

import "testing"

// TestRuleTestTimesTakeTheEventTimeGrammar: a test's record_time and an expected
// alert's window_start are RFC 3339 times, and the evaluator's contract (go doc
// ./window) says what RFC 3339 is: T and Z in either case, a two-digit hour, an offset
// up to ±23:59, a leap second the second after it. The test parser reads them with
// time.Parse instead, which refuses a lower-case t or z and a leap second ("is not an
// RFC 3339 time") and takes a one-digit hour, an offset of +24:00 and a comma before
// the fraction. The oracle is window.ParseTime's grammar (its rules restated here:
// rule cannot import window), held by TestParseTime: a text it reads is a time here
// too, and one it refuses is refused.
func TestRuleTestTimesTakeTheEventTimeGrammar(t *testing.T) {
	mustLimits(t)
	for _, tc := range []struct {
		text string
		ok   bool // RFC 3339 as the event-time contract reads it
	}{
		{"2026-01-01T00:00:00Z", true},
		{"2026-01-01t00:00:00z", true},
		{"2026-01-01T00:00:00z", true},
		{"2025-12-31T23:59:60Z", true}, // the leap second: 2026-01-01T00:00:00Z
		{"2026-01-01T00:00:00+24:00", false},
		{"2026-01-01T0:00:00Z", false},
		{"2026-01-01T00:00:00,000Z", false},
	} {
		for _, field := range []struct{ name, file string }{
			{"record_time", countRule + "  - name: a\n    events: [{type: a}]\n    record_time: '" + tc.text + "'\n    expect: {alerts: 0}\n"},
			{"window_start", windowedRule + "  - name: a\n    customer: c-1\n    events: [{type: x}]\n    expect:\n      alerts:\n        - window_start: '" + tc.text + "'\n"},
		} {
			_, err := ParseRulesFileTests("r.yaml", []byte(field.file))
			if got := err == nil; got != tc.ok {
				t.Errorf("%s %q: accepted %v (err %v), want %v: the event-time grammar reads it as %s", field.name, tc.text, got, err, tc.ok, map[bool]string{true: "RFC 3339", false: "not RFC 3339"}[tc.ok])
			}
		}
	}
}
