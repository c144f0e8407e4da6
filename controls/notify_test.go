package controls_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDestinationsAndMutes folds destination and mute controls (and tombstones, and
// records that are not valid) and checks the registry's view, the outcome of each
// record, name resolution by customer and mute matching.
func TestDestinationsAndMutes(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxDestinations, lim.MaxMutes = 3, 2
	setLimits(t, lim)
	recs := []struct {
		key, value string
		outcome    string
		problem    string // in the status message when not ok
	}{
		{"destination:*/ops", `{"op":"upsert","destination":{"scope":"*","name":"ops","type":"webhook","url":"https://hooks.example.com/a","secret":{"env":"OPS_KEY"}}}`, contract.ControlOK, ""},
		{"destination:c-1/ops", `{"op":"upsert","destination":{"scope":"c-1","name":"ops","type":"slack","url_from":{"file":"/run/slack-url"}}}`, contract.ControlOK, ""},
		{"destination:*/pd", `{"op":"upsert","destination":{"scope":"*","name":"pd","type":"pagerduty","url":"https://events.pagerduty.com/v2/enqueue"}}`, contract.ControlInvalid, "secret: is required for pagerduty"},
		{"destination:*/bad", `{"op":"upsert","destination":{"scope":"*","name":"bad","type":"email","url":"ftp://x"}}`, contract.ControlInvalid, `type: "email": want one of webhook, slack, pagerduty`},
		{"destination:*/x", `{"op":"upsert","destination":{"scope":"*","name":"ops","type":"webhook","url":"https://a.example"}}`, contract.ControlInvalid, `must be the destination's destination:SCOPE/ID "destination:*/ops"`},
		{"destination:*/port", `{"op":"upsert","destination":{"scope":"*","name":"port","type":"webhook","url":"https://p.example:99999/h"}}`, contract.ControlInvalid, "port 99999: want a number from 1 to 65535"},
		{"destination:*/two", `{"op":"upsert","destination":{"scope":"*","name":"two","type":"webhook","url":"https://b.example","url_from":{"env":"U"}}}`, contract.ControlInvalid, "url: and url_from are exclusive"},
		{"destination:*/three", `{"op":"upsert","destination":{"scope":"*","name":"three","type":"webhook","url":"https://c.example"}}`, contract.ControlOK, ""},
		{"destination:*/four", `{"op":"upsert","destination":{"scope":"*","name":"four","type":"webhook","url":"https://d.example"}}`, contract.ControlInvalid, "3 destinations are defined, the most allowed (limit max_destinations"},
		{"destination:*/three", ``, contract.ControlOK, ""}, // tombstone
		{"destination:*/three", ``, contract.ControlNotFound, "no destination */three"},
		{"mute:c-1/m1", `{"op":"upsert","mute":{"scope":"c-1","id":"m1","rule":"*","until":"2030-01-01T00:00:00Z","reason":"maintenance","by":"ana"}}`, contract.ControlOK, ""},
		{"mute:*/m2", `{"op":"upsert","mute":{"scope":"*","id":"m2","rule":"logins","until":"2026-01-01T00:00:00Z"}}`, contract.ControlOK, ""},
		{"mute:*/m3", `{"op":"upsert","mute":{"scope":"*","id":"m3","rule":"a/b"}}`, contract.ControlInvalid, `rule: "a/b": a rule id`},
		{"mute:*/m4", `{"op":"upsert","mute":{"scope":"*","id":"m4","rule":"*"}}`, contract.ControlInvalid, "2 mutes are in force, the most allowed (limit max_mutes"},
		{"mute:*/m2", `{"op":"delete","kind":"mute","scope":"*","id":"m2"}`, contract.ControlOK, ""},
		{"mute:*/m2", `{"op":"delete","kind":"mute","scope":"*","id":"m2"}`, contract.ControlNotFound, "no mute */m2"},
		{"*/r", `{"op":"upsert","rule":{"id":"r","scope":"*","when":{"path":"$.a","op":"exists"},"threshold":1}}`, contract.ControlOK, ""},
		{"destination:x/r", `{"op":"upsert","rule":{"id":"r","scope":"destination:x","when":{"path":"$.a","op":"exists"},"threshold":1}}`, contract.ControlInvalid, `scope: must not start with "destination:"`},
	}
	g := controls.NewRegistry()
	for i, rc := range recs {
		var value []byte
		if rc.value != "" {
			value = []byte(rc.value)
		}
		rec := controls.Decode([]byte(rc.key), value, 0, int64(i), time.Unix(0, 0))
		outcome, msg := g.Apply(rec)
		if outcome != rc.outcome || !strings.Contains(msg, rc.problem) {
			t.Errorf("record %d (%s): %s %q; want %s containing %q", i, rc.key, outcome, msg, rc.outcome, rc.problem)
		}
	}
	var names []string
	for _, d := range g.Destinations() {
		names = append(names, d.Scope+"/"+d.Name+"="+d.Type)
	}
	if got := strings.Join(names, " "); got != "*/ops=webhook c-1/ops=slack" {
		t.Errorf("destinations %s", got)
	}
	if g.Len() != 1 {
		t.Errorf("%d rules; destinations and mutes must not count as rules", g.Len())
	}
	for _, tc := range []struct{ customer, name, want string }{
		{"c-1", "ops", "slack"}, {"c-2", "ops", "webhook"}, {"c-1", "nope", ""},
	} {
		got := ""
		if d, ok := g.Destination(tc.customer, tc.name); ok {
			got = d.Type
		}
		if got != tc.want {
			t.Errorf("Destination(%s, %s) = %q, want %q", tc.customer, tc.name, got, tc.want)
		}
	}
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		rule, customer string
		at             time.Time
		want           string
	}{
		{"logins", "c-1", now, "m1"},
		{"other", "c-1", now, "m1"},
		{"logins", "c-2", now, ""},                  // m2 was deleted
		{"logins", "c-1", now.AddDate(5, 0, 0), ""}, // m1 expired
	} {
		got := ""
		if m := g.Muted(tc.rule, tc.customer, tc.at); m != nil {
			got = m.ID
		}
		if got != tc.want {
			t.Errorf("Muted(%s, %s, %s) = %q, want %q", tc.rule, tc.customer, tc.at, got, tc.want)
		}
	}
}

// setLimits puts lim in force for the test.
func setLimits(t *testing.T, lim rule.Limits) {
	t.Helper()
	old := rule.CurrentLimits()
	t.Cleanup(func() { _ = rule.SetLimits(old) })
	if err := rule.SetLimits(lim); err != nil {
		t.Fatal(err)
	}
}
