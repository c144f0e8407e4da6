package window

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDueHoldsOneEntryPerIncident: a resolving incident is extended by every window
// that crosses during it; its close times queue holds one entry for it all the same,
// and the incident still closes at the end of the last window that crossed, with one
// resolved record. Each extension pushed an entry, each with its own copy of the group
// id: 1,440 for a group seen every minute under a day-long window every minute.
func TestDueHoldsOneEntryPerIncident(t *testing.T) {
	r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$","op":"exists"},` +
		`"group_by":["$.g"],"window":{"size":"60m","every":"1m"},"threshold":1,"alert":{"resolve":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := New(r, Limits{})
	doc := jsonpath.NewDocument()
	var firing, resolved []Crossing
	cross := func(c Crossing) {
		if c.Resolved {
			resolved = append(resolved, c)
		} else {
			firing = append(firing, c)
		}
	}
	add := func(g string, at time.Time) {
		if err := doc.Reset([]byte(fmt.Sprintf(`{"g":%q}`, g))); err != nil {
			t.Fatal(err)
		}
		s.Add(&Event{Customer: "c", Doc: doc, Time: at}, cross)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const groups, minutes = 3, 90
	for m := range minutes {
		for g := range groups {
			add(fmt.Sprintf("g%d", g), t0.Add(time.Duration(m)*time.Minute))
		}
		if n, open := len(s.life.due), len(s.life.open); n != open {
			t.Fatalf("minute %d: %d entries queued for %d open incidents, want one each", m, n, open)
		}
	}
	if len(firing) != groups || len(resolved) != 0 {
		t.Fatalf("after %d minutes: %d firings, %d resolved; want %d firings, none resolved (each incident extended)", minutes, len(firing), len(resolved), groups)
	}
	// The last window that crossed starts at the last event's minute, and ends an hour
	// later: an event just before that leaves every incident open, one at it closes them.
	last := t0.Add((minutes - 1) * time.Minute)
	add("other", last.Add(time.Hour-time.Millisecond))
	if len(resolved) != 0 {
		t.Fatalf("closed %d incidents before their last window's end", len(resolved))
	}
	add("other", last.Add(time.Hour))
	if len(resolved) != groups {
		t.Fatalf("at the last window's end: %d resolved, want %d", len(resolved), groups)
	}
	for i, c := range resolved {
		if want := fmt.Sprintf("g%d", i); string(c.Group) == "" || !containsGroup(c.Group, want) {
			t.Errorf("resolved #%d is of group %q, want %s (in group id order)", i, c.Group, want)
		}
	}
}

func containsGroup(key []byte, g string) bool {
	return len(key) >= len(g) && string(key[len(key)-len(g):]) == g
}
