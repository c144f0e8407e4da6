package window_test

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestAlertFields checks the alert record of a windowed, grouped crossing: the rule's
// identity, the crossing's figures, the group object and the window's bounds.
func TestAlertFields(t *testing.T) {
	r := mustRule(t, `"aggregate":{"fn":"sum","path":"$.v"},"group_by":["$.g","$.h"],"window":{"size":"1h"},"threshold":{"op":">","value":10}`)
	st, crossings := run(t, r, window.Limits{},
		in{"c1", `{"g":"a","h":{"y":2,"x":1},"v":6}`, ms("2024-05-06T07:10:00Z")},
		in{"c1", `{"g":"a","h":{"x":1,"y":2},"v":5.5}`, ms("2024-05-06T07:20:00Z")})
	if len(crossings) != 1 || st.Degraded() != "" {
		t.Fatalf("crossings %v, degraded %q: want one", crossings, st.Degraded())
	}
	c := toCrossing(crossings[0])
	eventTime := time.Date(2024, 5, 6, 9, 20, 0, 0, time.FixedZone("+2", 7200))
	a, err := window.Alert(r, c, 3, 1234, eventTime, contract.SourceLive)
	if err != nil {
		t.Fatal(err)
	}
	start, end := time.Date(2024, 5, 6, 7, 0, 0, 0, time.UTC), time.Date(2024, 5, 6, 8, 0, 0, 0, time.UTC)
	checks := []struct {
		field string
		got   any
		want  any
	}{
		{"RuleID", a.RuleID, "r1"},
		{"Scope", a.Scope, "*"},
		{"Version", a.Version, int64(3)},
		{"Customer", a.Customer, "c1"},
		{"Count", a.Count, int64(2)},
		{"Threshold", a.Threshold, rule.Threshold{Op: rule.OpGt, Value: 10}},
		{"Partition", a.Partition, int32(3)},
		{"Offset", a.Offset, int64(1234)},
		{"EventTime", a.EventTime.String(), eventTime.UTC().String()},
		{"Source", a.Source, "live"},
		{"Aggregate", a.Aggregate, "sum"},
		{"Value", a.Value, 11.5},
		{"WindowStart", a.WindowStart.String(), start.String()},
		{"WindowEnd", a.WindowEnd.String(), end.String()},
		{"Group $.g", string(a.Group["$.g"]), `"a"`},
		{"Group $.h", string(a.Group["$.h"]), `{"x":1,"y":2}`},
		{"len(Group)", len(a.Group), 2},
		{"AlertID", a.AlertID, contract.WindowAlertID("*", "r1", 3, "c1", c.Group, start.UnixMilli(), true, r.Threshold)},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.field, ch.got, ch.want)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a.AlertID) {
		t.Errorf("alert_id %q is not 32 hex digits", a.AlertID)
	}

	// The record as JSON: a running total's bounds and a rule without group_by's
	// group are null.
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if got := string(rec["window_start"]); got != `"2024-05-06T07:00:00Z"` {
		t.Errorf("window_start %s, want \"2024-05-06T07:00:00Z\"", got)
	}
	if got := string(rec["group"]); got != `{"$.g":"a","$.h":{"x":1,"y":2}}` {
		t.Errorf("group %s", got)
	}
}

// TestAlertRunningTotal checks a crossing without window: null bounds, and for a
// plain count the id it always had; for another running total the windowed id
// without a window.
func TestAlertRunningTotal(t *testing.T) {
	tests := []struct {
		name    string
		fields  string
		plainID bool
		group   map[string]json.RawMessage
	}{
		{"plain count", `"threshold":2`, true, nil},
		{"count with >", `"threshold":{"op":">","value":1}`, false, nil},
		{"sum", `"aggregate":{"fn":"sum","path":"$.v"},"threshold":2`, false, nil},
		{"grouped count", `"group_by":["$.g"],"threshold":2`, false, map[string]json.RawMessage{"$.g": json.RawMessage("null")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRule(t, tt.fields)
			// The state evaluates plain counts too (Replay keeps them cheaper).
			_, crossings := run(t, r, window.Limits{}, in{"c", `{"v":1}`, 1}, in{"c", `{"v":1}`, 2})
			if len(crossings) != 1 {
				t.Fatalf("crossings %v, want one", crossings)
			}
			c := toCrossing(crossings[0])
			a, err := window.Alert(r, c, 0, 9, time.UnixMilli(2), contract.SourceBackfill)
			if err != nil {
				t.Fatal(err)
			}
			if a.WindowStart != nil || a.WindowEnd != nil {
				t.Errorf("bounds %v %v, want none", a.WindowStart, a.WindowEnd)
			}
			if len(a.Group) != len(tt.group) || string(a.Group["$.g"]) != string(tt.group["$.g"]) {
				t.Errorf("group %v, want %v", a.Group, tt.group)
			}
			want := contract.WindowAlertID("*", "r1", 3, "c", c.Group, 0, false, r.Threshold)
			if tt.plainID {
				want = contract.AlertID("*", "r1", 3, "c", 2)
			}
			if a.AlertID != want {
				t.Errorf("alert_id %s, want %s", a.AlertID, want)
			}
		})
	}
}

// TestAlertIDs checks that the id is the same for the same (rule version, customer,
// group, window, threshold) whoever raises it and whichever event does, and differs
// when any of those differ.
func TestAlertIDs(t *testing.T) {
	r := mustRule(t, `"group_by":["$.g"],"window":{"size":"1h"},"threshold":3`)
	base := window.Crossing{Customer: "c", Group: []byte(gk(`"a"`)), Windowed: true, Start: 3600_000, End: 7200_000, Count: 3, Value: 3}
	id := func(r *rule.Rule, c window.Crossing, partition int32, offset int64, source string) string {
		t.Helper()
		a, err := window.Alert(r, c, partition, offset, time.UnixMilli(offset), source)
		if err != nil {
			t.Fatal(err)
		}
		return a.AlertID
	}
	want := id(r, base, 0, 1, contract.SourceLive)

	same := base
	same.Count, same.Value = 4, 4 // another event of the same window
	if got := id(r, same, 5, 99, contract.SourceBackfill); got != want {
		t.Errorf("the same window's id from another event and source is %s, want %s", got, want)
	}

	other := func(f func(c *window.Crossing)) window.Crossing {
		c := base
		f(&c)
		return c
	}
	distinct := map[string]string{want: "base"}
	for name, got := range map[string]string{
		"customer":     id(r, other(func(c *window.Crossing) { c.Customer = "d" }), 0, 1, "live"),
		"group":        id(r, other(func(c *window.Crossing) { c.Group = []byte(gk(`"b"`)) }), 0, 1, "live"),
		"group 1 vs 2": id(r, other(func(c *window.Crossing) { c.Group = []byte(gk(`1`)) }), 0, 1, "live"),
		"window":       id(r, other(func(c *window.Crossing) { c.Start, c.End = 7200_000, 10800_000 }), 0, 1, "live"),
		"version":      id(withVersion(r, 4), base, 0, 1, "live"),
		"threshold":    id(mustRule(t, `"group_by":["$.g"],"window":{"size":"1h"},"threshold":{"op":">","value":3}`), base, 0, 1, "live"),
	} {
		if prev, dup := distinct[got]; dup {
			t.Errorf("another %s has the id of %s: %s", name, prev, got)
		}
		distinct[got] = name
	}

	if _, err := window.Alert(r, other(func(c *window.Crossing) { c.Group = []byte("x") }), 0, 1, time.UnixMilli(1), "live"); err == nil || err.Error() != "window: malformed canonical key" {
		t.Errorf("Alert of a malformed group: %v, want the malformed key error", err)
	}
}

// withVersion is a copy of r at version v.
func withVersion(r *rule.Rule, v int64) *rule.Rule {
	c := *r
	c.Version = v
	return &c
}

// toCrossing turns a test's crossing back into the package's.
func toCrossing(c crossing) window.Crossing {
	return window.Crossing{Customer: c.Customer, Group: []byte(c.Group), Windowed: c.Windowed, Start: c.Start, End: c.End, Count: c.Count, Value: c.Value}
}

// TestAlertOfEveryAcceptedEventTimeDecodes: every event time the contract accepts gives
// a crossing whose alert record reads back as a contract.Alert, as notify reads it. An
// event at 9999-12-31T12:00Z under a 1-day window, or at epoch ms 3e14 (year 11476),
// once counted, and its alert carried a window end in year 10000 or later, which no
// RFC 3339 reader takes: notify skipped the alert, and its incident suppressed the
// next. Such times are now not usable (TimeErrors).
func TestAlertOfEveryAcceptedEventTimeDecodes(t *testing.T) {
	r := mustRule(t, `"window":{"size":"1d"},"time":"$.t","threshold":1`)
	for _, tc := range []struct {
		doc    string
		usable bool
	}{
		{`{"t":"2024-05-06T07:30:00Z"}`, true},
		{`{"t":"0000-01-02T12:00:00Z"}`, true},
		{`{"t":"0000-01-01T12:00:00Z"}`, false}, // a window it falls in could start in year -1
		{`{"t":"9999-12-30T12:00:00Z"}`, true},  // its window ends 9999-12-31
		{`{"t":"9999-12-31T12:00:00Z"}`, false}, // its window would end in year 10000
		{`{"t":300000000000000}`, false},        // year 11476
	} {
		st := window.New(r, window.Limits{})
		d := jsonpath.NewDocument()
		if err := d.Reset([]byte(tc.doc)); err != nil {
			t.Fatal(err)
		}
		var got []window.Crossing
		st.Add(&window.Event{Customer: "c", Doc: d, Time: time.UnixMilli(0)}, func(c window.Crossing) { got = append(got, c) })
		if !tc.usable {
			if st.Stats().TimeErrors != 1 || len(got) != 0 {
				t.Errorf("%s: stats %+v, %d crossings; want a time error", tc.doc, st.Stats(), len(got))
			}
			continue
		}
		if st.Stats().TimeErrors != 0 || len(got) != 1 {
			t.Fatalf("%s: stats %+v, %d crossings; want the time accepted and one crossing", tc.doc, st.Stats(), len(got))
		}
		a, err := window.Alert(r, got[0], 0, 0, time.UnixMilli(0), contract.SourceLive)
		if err != nil {
			t.Fatalf("%s: Alert: %v", tc.doc, err)
		}
		b := a.AppendJSON(nil)
		var back contract.Alert
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%s: the alert record does not decode: %v\n%s", tc.doc, err, b)
		}
	}
}

// TestAlertOfAnEarliestAcceptedEventTimeDecodes: the sibling of
// TestAlertOfEveryAcceptedEventTimeDecodes at the other end of the range. An event
// early in year 0000 may fall in a window that starts in year -1 (a hopping window, or
// one not aligned on 0000-01-01 from the epoch), whose alert no RFC 3339 reader takes.
// Such events are refused now; those accepted give alerts that read back.
func TestAlertOfAnEarliestAcceptedEventTimeDecodes(t *testing.T) {
	for _, tc := range []struct{ fields, doc string }{
		{`"window":{"size":"2h","every":"1h"},"time":"$.t","threshold":1`, `{"t":"0000-01-01T00:30:00Z"}`},
		{`"window":{"size":"7d"},"time":"$.t","threshold":1`, `{"t":"0000-01-01T12:00:00Z"}`},
		{`"window":{"size":"7d"},"time":"$.t","threshold":1`, `{"t":"0000-01-09T12:00:00Z"}`},
	} {
		r := mustRule(t, tc.fields)
		st := window.New(r, window.Limits{})
		d := jsonpath.NewDocument()
		if err := d.Reset([]byte(tc.doc)); err != nil {
			t.Fatal(err)
		}
		var got []window.Crossing
		st.Add(&window.Event{Customer: "c", Doc: d, Time: time.UnixMilli(0)}, func(c window.Crossing) { got = append(got, c) })
		if st.Stats().TimeErrors != 0 {
			continue // refused: no alert to read
		}
		if len(got) == 0 {
			t.Fatalf("%s: accepted, but no crossing", tc.doc)
		}
		for _, c := range got {
			a, err := window.Alert(r, c, 0, 0, time.UnixMilli(0), contract.SourceLive)
			if err != nil {
				t.Fatalf("%s: Alert: %v", tc.doc, err)
			}
			b := a.AppendJSON(nil)
			var back contract.Alert
			if err := json.Unmarshal(b, &back); err != nil {
				t.Errorf("%s under %s: the time is accepted, but the alert record does not decode: %v\n%s", tc.doc, tc.fields, err, b)
			}
		}
	}
}
