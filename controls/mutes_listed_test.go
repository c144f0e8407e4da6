package controls_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestMutesListedKeepsForeverMutesAndDropsAtRetention: a listing shows a mute with no
// end whenever it is asked, and an ended mute until, and not at, mute_retention after
// its end (the instant a mute control forgets it, forgetEndedMutes).
func TestMutesListedKeepsForeverMutesAndDropsAtRetention(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MuteRetention = rule.Duration(time.Hour)
	setLimits(t, lim)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := controls.NewRegistry()
	for i, c := range []string{
		`{"op":"upsert","mute":{"scope":"*","id":"forever","rule":"*","reason":"a"}}`,
		`{"op":"upsert","mute":{"scope":"*","id":"two-hours","rule":"*","until":"2026-01-01T02:00:00Z","reason":"b"}}`,
	} {
		key := []string{"mute:*/forever", "mute:*/two-hours"}[i]
		if outcome, msg := g.Apply(controls.Decode([]byte(key), []byte(c), 0, int64(i), start)); outcome != contract.ControlOK {
			t.Fatalf("%s: %s %q", key, outcome, msg)
		}
	}
	ids := func(now time.Time) []string {
		var out []string
		for _, m := range g.MutesListed(now) {
			out = append(out, m.ID)
		}
		return out
	}
	end := start.Add(2 * time.Hour)
	for _, c := range []struct {
		now  time.Time
		want []string
	}{
		{start, []string{"forever", "two-hours"}},
		{end.Add(time.Hour - time.Millisecond), []string{"forever", "two-hours"}},
		{end.Add(time.Hour), []string{"forever"}},
		{start.Add(24 * 365 * time.Hour), []string{"forever"}},
	} {
		if got := ids(c.now); !slices.Equal(got, c.want) {
			t.Errorf("MutesListed at %s: %v, want %v", c.now.Format(time.RFC3339Nano), got, c.want)
		}
	}
}

// TestMutedAnswersTheFirstMuteInKeyOrder: of several mutes covering an alert, Muted
// answers the first in (scope, id) order, whatever order they were made in, so that
// every process records the same mute on the alert.
func TestMutedAnswersTheFirstMuteInKeyOrder(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := controls.NewRegistry()
	for i, id := range []string{"m-b", "m-a", "m-c"} {
		c := `{"op":"upsert","mute":{"scope":"c-1","id":"` + id + `","rule":"*","reason":"` + id + `"}}`
		if outcome, msg := g.Apply(controls.Decode([]byte("mute:c-1/"+id), []byte(c), 0, int64(i), start)); outcome != contract.ControlOK {
			t.Fatalf("%s: %s %q", id, outcome, msg)
		}
	}
	for range 20 { // map order varies between walks
		if m := g.Muted("logins", "c-1", start); m == nil || m.ID != "m-a" {
			t.Fatalf("Muted: %+v, want m-a, the first of c-1's mutes by id", m)
		}
	}
}

// TestMutesEndingAtOnceAreForgottenInKeyOrder: past max_ended_mutes the earliest ended
// mute is forgotten, and of mutes ending at the same instant the first in (scope, id)
// order, whatever order they were made in: every fold, of the whole log or of the
// compacted topic (which keeps the controls in another order), forgets the same one.
func TestMutesEndingAtOnceAreForgottenInKeyOrder(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxEndedMutes = 1
	setLimits(t, lim)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, order := range [][]string{{"m-a", "m-b"}, {"m-b", "m-a"}} {
		g := controls.NewRegistry()
		recs := []string{}
		for _, id := range order {
			recs = append(recs, id, `{"op":"upsert","mute":{"scope":"*","id":"`+id+`","rule":"*","until":"2026-01-01T01:00:00Z","reason":"r"}}`)
		}
		recs = append(recs, "m-z", `{"op":"upsert","mute":{"scope":"*","id":"m-z","rule":"*","reason":"later"}}`)
		for i := 0; i < len(recs); i += 2 {
			at := start
			if recs[i] == "m-z" {
				at = start.Add(3 * time.Hour) // both ended two hours before: past endedGrace
			}
			if outcome, msg := g.Apply(controls.Decode([]byte("mute:*/"+recs[i]), []byte(recs[i+1]), 0, int64(i/2), at)); outcome != contract.ControlOK {
				t.Fatalf("%v: %s: %s %q", order, recs[i], outcome, msg)
			}
		}
		var ids []string
		for _, m := range g.Mutes() {
			ids = append(ids, m.ID)
		}
		if want := []string{"m-b", "m-z"}; !slices.Equal(ids, want) || g.EndedMutesDropped() != 1 {
			t.Errorf("made in order %v: mutes held %v, %d dropped; want %v, 1 dropped (m-a forgotten first)", order, ids, g.EndedMutesDropped(), want)
		}
	}
}

// TestMaxMutesLetsAMuteInForceBeChanged: at max_mutes a mute in force may be changed
// (its until moved): it takes no more room. A key whose mute ended takes room again,
// and its refusal says the key holds something: apply it again once there is room.
func TestMaxMutesLetsAMuteInForceBeChanged(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 1
	setLimits(t, lim)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := controls.NewRegistry()
	off := int64(0)
	apply := func(id, until string, at time.Time) (string, string) {
		off++
		c := `{"op":"upsert","mute":{"scope":"*","id":"` + id + `","rule":"*","until":"` + until + `","reason":"r"}}`
		return g.Apply(controls.Decode([]byte("mute:*/"+id), []byte(c), 0, off, at))
	}
	if st, msg := apply("ended", "2026-01-01T00:30:00Z", start); st != contract.ControlOK {
		t.Fatalf("ended: %s %q", st, msg)
	}
	if st, msg := apply("m1", "2026-01-01T02:00:00Z", start.Add(time.Hour)); st != contract.ControlOK {
		t.Fatalf("m1 once the first ended: %s %q", st, msg)
	}
	if st, msg := apply("m1", "2026-01-01T03:00:00Z", start.Add(time.Hour)); st != contract.ControlOK {
		t.Fatalf("m1 moved to 03:00 at max_mutes 1, itself the mute in force: %s %q, want ok", st, msg)
	}
	st, msg := apply("ended", "2026-01-01T05:00:00Z", start.Add(time.Hour))
	if st != contract.ControlInvalid || !strings.Contains(msg, "then apply this one again") {
		t.Fatalf("the ended mute made in force again at max_mutes 1: %s %q, want invalid advising to apply it again", st, msg)
	}
}
