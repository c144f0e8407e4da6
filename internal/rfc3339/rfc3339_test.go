package rfc3339

import (
	"strings"
	"testing"
	"time"
)

// TestParse holds Parse to RFC 3339 §5.6 where time.Parse(time.RFC3339Nano) differs
// from it, and to the value time.Parse reads where they agree.
func TestParse(t *testing.T) {
	base := time.Date(2024, 5, 6, 7, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		text string
		want time.Time
		ok   bool
	}{
		{"2024-05-06T07:30:00Z", base, true},
		{"2024-05-06T09:30:00+02:00", base, true},
		{"2024-05-06T07:30:00.123456789Z", base.Add(123456789), true},
		{"0000-01-01T00:00:00Z", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"9999-12-31T23:59:59.999Z", time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC), true},
		// An offset may carry the time out of the years: the caller bounds it.
		{"9999-12-31T23:30:00-01:00", time.Date(10000, 1, 1, 0, 30, 0, 0, time.UTC), true},
		// T and Z in either case; a leap second is the second after it.
		{"2024-05-06t07:30:00z", base, true},
		{"2024-05-06T07:30:00z", base, true},
		{"2024-05-06t09:30:00+02:00", base, true},
		{"2016-12-31T23:59:60Z", time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), true},
		// Not RFC 3339, though time.Parse takes them.
		{"2024-05-06T07:30:00+24:00", time.Time{}, false},
		{"2024-05-06T07:30:00+23:60", time.Time{}, false},
		{"2024-05-06T7:30:00Z", time.Time{}, false},
		{"2024-05-06T07:30:00,123Z", time.Time{}, false},
		// Not RFC 3339 at all.
		{"2024-05-06T07:30:00.Z", time.Time{}, false},
		{"2024-05-06T24:00:00Z", time.Time{}, false},
		{"2024-05-06T07:60:00Z", time.Time{}, false},
		{"2024-05-06T07:30:61Z", time.Time{}, false},
		{"2024-02-30T07:30:00Z", time.Time{}, false},
		{"2024-05-06", time.Time{}, false},
		{"2024-05-06 07:30:00Z", time.Time{}, false},
		{"2024-05-06T07:30:00", time.Time{}, false},
		{"2024-05-06T07:30:00+0200", time.Time{}, false},
		{"+2024-05-06T07:30:00Z", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, ok := Parse(tc.text)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParse: where time.Parse takes the same text, the two read the same instant, but
// for a leap second, which Parse takes as the second after; and text Parse takes has
// the shape RFC 3339 gives it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2024-05-06T07:30:00Z", "2024-05-06t07:30:00.123z", "2016-12-31T23:59:60Z",
		"2024-05-06T07:30:00+24:00", "0000-01-01T00:00:00-00:01", "9999-12-31T23:59:59.9999+00:00", "2024-05-06T7:30:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := Parse(s)
		if !ok {
			return
		}
		if len(s) < len("2006-01-02T15:04:05Z") || strings.ContainsAny(s[:19], " ,+") {
			t.Fatalf("Parse(%q) took a text RFC 3339 does not write", s)
		}
		if want, err := time.Parse(time.RFC3339Nano, s); err == nil && s[17:19] != "60" && !want.Equal(got) {
			t.Fatalf("Parse(%q) = %v, time.Parse %v", s, got, want)
		}
	})
}
