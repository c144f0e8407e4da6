package controls_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDeleteOfEndedMuteIsApplied: the console lists ended mutes ("(expired)") with an
// Unmute button, and publishes their delete (handleDeleteMute finds them in
// Backend.Mutes). The fold must apply that delete: every mute control now first forgets
// the mutes ended at its record's time, the mute being deleted among them, and the
// delete then answered not_found ("no mute */deploy-1"), the console showing
// "Not unmuted" (404) for a mute that it listed.
func TestDeleteOfEndedMuteIsApplied(t *testing.T) {
	setLimits(t, rule.DefaultLimits)
	g := controls.NewRegistry()
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	one := `{"op":"upsert","mute":{"scope":"*","id":"deploy-1","rule":"*","until":"2026-01-01T02:00:00Z","reason":"deploy"}}`
	if outcome, msg := g.Apply(controls.Decode([]byte("mute:*/deploy-1"), []byte(one), 0, 0, first)); outcome != contract.ControlOK {
		t.Fatalf("mute: %s %q", outcome, msg)
	}
	// The console lists it (ended, shown "(expired)"), so the user can unmute it.
	if ms := g.Mutes(); len(ms) != 1 || ms[0].ID != "deploy-1" {
		t.Fatalf("mutes listed %v; want deploy-1", ms)
	}
	del := `{"op":"delete","kind":"mute","scope":"*","id":"deploy-1"}`
	outcome, msg := g.Apply(controls.Decode([]byte("mute:*/deploy-1"), []byte(del), 0, 1, first.Add(3*time.Hour)))
	if outcome != contract.ControlOK {
		t.Errorf("delete of the listed (ended) mute: %s %q; want ok", outcome, msg)
	}
}

// TestDeleteOfAMuteEndedPastItsRetentionIsApplied: a delete stamped mute_retention or
// more after the end of the mute it names, which the fold still holds (no mute control
// came between to forget it), deletes it first and answers ok: the console listed it to
// a user whose clock is behind the producer's. Forgotten at the delete's time before
// the delete was applied, the delete was not_found.
func TestDeleteOfAMuteEndedPastItsRetentionIsApplied(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MuteRetention = rule.Duration(time.Hour)
	setLimits(t, lim)
	g := controls.NewRegistry()
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	one := `{"op":"upsert","mute":{"scope":"*","id":"deploy-1","rule":"*","until":"2026-01-01T02:00:00Z","reason":"deploy"}}`
	if outcome, msg := g.Apply(controls.Decode([]byte("mute:*/deploy-1"), []byte(one), 0, 0, first)); outcome != contract.ControlOK {
		t.Fatalf("mute: %s %q", outcome, msg)
	}
	del := `{"op":"delete","kind":"mute","scope":"*","id":"deploy-1"}`
	outcome, msg := g.Apply(controls.Decode([]byte("mute:*/deploy-1"), []byte(del), 0, 1, first.Add(5*time.Hour)))
	if outcome != contract.ControlOK {
		t.Errorf("delete of a mute ended 3h before it, under a retention of 1h: %s %q; want ok", outcome, msg)
	}
	if ms := g.Mutes(); len(ms) != 0 {
		t.Errorf("mutes held after the delete: %v", ms)
	}
}
