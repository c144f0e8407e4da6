package rule

import (
	"errors"
	"strings"
	"testing"
)

// TestRecordTimeOutsideYears0To9999IsRefused: a test's record times are written in
// its alerts' event_time (RFC 3339, years 0000 to 9999); the parser refuses "2 events
// every 1d from 9999-12-31T23:59:59Z" as running past the year 9999. But the check is
// skipped for one event (or every 0), and reads the year in record_time's own zone:
// 9999-12-31T23:30:00-01:00 is 10000-01-01T00:30Z, 0000-01-01T00:00:00+00:01 is year
// -1. Both are accepted, and `rules test --json` then prints an alert with
// "event_time":"10000-01-01T00:30:00Z" (or "-0001-12-31T23:59:00Z"), which is no
// RFC 3339 time and which encoding/json refuses to write or read.
func TestRecordTimeOutsideYears0To9999IsRefused(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"one event, year 10000 in UTC", countRule + "  - name: a\n    events: [{type: a}]\n    record_time: '9999-12-31T23:30:00-01:00'\n    expect: {alerts: 0}\n",
			"tests[0].record_time: 9999-12-31T23:30:00-01:00 is 10000-01-01T00:30:00Z in UTC, outside the years 0000 to 9999"},
		{"one event, year -1 in UTC", countRule + "  - name: a\n    events: [{type: a}]\n    record_time: '0000-01-01T00:00:00+00:01'\n    expect: {alerts: 0}\n",
			"tests[0].record_time: 0000-01-01T00:00:00+00:01 is -0001-12-31T23:59:00Z in UTC, outside the years 0000 to 9999"},
		{"two events, last in year 10000 in UTC", countRule + "  - name: a\n    events: [{type: a}, {type: a}]\n    record_time: '9999-12-31T22:30:00-01:00'\n    every: 1h\n    expect: {alerts: 0}\n",
			"tests[0].every: 2 events every 1h0m0s from 9999-12-31T22:30:00-01:00 run past the year 9999 in UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseRulesFileTests("r.yaml", []byte(tc.file))
			if err == nil {
				rt := f.Tests[0]
				last := rt.RecordTimeOf(len(rt.Events) - 1).UTC()
				t.Errorf("accepted: the last event's record time is %s (UTC year %d), which an alert's event_time cannot carry as RFC 3339", last, last.Year())
			} else if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not match ErrInvalid: %v", err)
			} else if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\nwant one saying %s", err, tc.want)
			}
		})
	}
}
