package controls_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestMuteEndingAtTheNewestControlTakesNoRoom: a mute is in force until its until,
// not at it (rule.Mute.InForce), so one written with its until at the newest mute
// control's own time has ended there and takes no room of max_mutes from a mute
// written at that same time. The index files a mute by whether the newest control's
// time is at or past its until; filed as pending at equal times, it would be counted
// in force and refuse the second mute below.
func TestMuteEndingAtTheNewestControlTakesNoRoom(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 1
	setLimits(t, lim)
	g := controls.NewRegistry()
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if outcome, msg := g.Apply(muteControl("deploy-1", at, at, 0)); outcome != contract.ControlOK {
		t.Fatalf("a mute ending as written: %s %q", outcome, msg)
	}
	if outcome, msg := g.Apply(muteControl("deploy-2", at.Add(time.Hour), at, 1)); outcome != contract.ControlOK {
		t.Errorf("a mute written at deploy-1's until: %s %q; want ok (max_mutes 1, and deploy-1 is not in force at its until)", outcome, msg)
	}
}

// TestSkewedControlAtAnEndedMutesUntilIsNotCountingIt: a mute control stamped behind
// the newest (a producer's clock slow) is judged at its own time, counting the ended
// mutes still in force then; one ending exactly at that time is not (in force until
// its until, not at it), so max_mutes 2 leaves room for the third mute below.
func TestSkewedControlAtAnEndedMutesUntilIsNotCountingIt(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 2
	setLimits(t, lim)
	g := controls.NewRegistry()
	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	end1 := t0.Add(10 * time.Minute)
	far := t0.Add(100 * 24 * time.Hour)
	for i, rec := range []controls.Record{
		muteControl("deploy-1", end1, t0, 0),
		muteControl("deploy-2", far, end1.Add(10*time.Minute), 1),
	} {
		if outcome, msg := g.Apply(rec); outcome != contract.ControlOK {
			t.Fatalf("control %d: %s %q", i, outcome, msg)
		}
	}
	if outcome, msg := g.Apply(muteControl("deploy-3", far, end1, 2)); outcome != contract.ControlOK {
		t.Errorf("a mute stamped at deploy-1's until: %s %q; want ok (max_mutes 2: only deploy-2 is in force then)", outcome, msg)
	}
}

// TestDeletedMuteForgottenAtItsRetention: a deleted mute is kept for EndedCovering
// until mute_retention after it stopped covering, and forgotten by a mute control
// stamped exactly then, as an ended mute held is (forgetEndedMutes): a second before,
// it still covers an alert raised while it was in force.
func TestDeletedMuteForgottenAtItsRetention(t *testing.T) {
	lim := rule.DefaultLimits
	setLimits(t, lim)
	retention := time.Duration(lim.MuteRetention)
	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	deleted := t0.Add(time.Minute)
	for _, tc := range []struct {
		name    string
		later   time.Time
		covered bool
	}{
		{"a second before its retention", deleted.Add(retention - time.Second), true},
		{"at its retention", deleted.Add(retention), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := controls.NewRegistry()
			far := tc.later.Add(100 * 24 * time.Hour)
			for i, rec := range []controls.Record{muteControl("m1", far, t0, 0), muteControl("m1", time.Time{}, deleted, 1), muteControl("m2", far, tc.later, 2)} {
				if outcome, msg := g.Apply(rec); outcome != contract.ControlOK {
					t.Fatalf("control %d: %s %q", i, outcome, msg)
				}
			}
			m := g.EndedCovering("r", "c-1", t0.Add(30*time.Second), tc.later)
			if got := m != nil && m.ID == "m1"; got != tc.covered {
				t.Errorf("an alert raised while m1 was in force, read after a mute control at %s (m1 deleted at %s, mute_retention %s): covered by m1 %v, want %v",
					tc.later, deleted, lim.MuteRetention, got, tc.covered)
			}
		})
	}
}
