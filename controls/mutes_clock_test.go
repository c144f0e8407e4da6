package controls_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

var muteT0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// muteControl is mute id's upsert (until set) of every rule's alerts or delete (until
// zero), written at at.
func muteControl(id string, until, at time.Time, offset int64) controls.Record {
	return ruleMuteControl(id, "*", until, at, offset)
}

// ruleMuteControl is muteControl of one rule's alerts.
func ruleMuteControl(id, ruleID string, until, at time.Time, offset int64) controls.Record {
	key := []byte("mute:*/" + id)
	if until.IsZero() {
		return controls.Decode(key, fmt.Appendf(nil, `{"op":"delete","kind":"mute","scope":"*","id":%q}`, id), 0, offset, at)
	}
	return controls.Decode(key, fmt.Appendf(nil, `{"op":"upsert","mute":{"scope":"*","id":%q,"rule":%q,"until":%q,"reason":"deploy"}}`,
		id, ruleID, until.Format(time.RFC3339)), 0, offset, at)
}

// TestFutureStampedControlEndsNoMuteInForce: a mute control whose record time is ahead
// of the clock (a producer's clock ahead, a timestamp set by hand) leaves the mutes in
// force by the clock in force. The fold forgot every mute ended at the record's time,
// three hours ahead, and the alerts of the next two hours that deploy-1 covers were
// delivered.
func TestFutureStampedControlEndsNoMuteInForce(t *testing.T) {
	setLimits(t, rule.DefaultLimits)
	g := controls.NewRegistry()
	controls.SetClock(g, func() time.Time { return muteT0 })
	for _, rec := range []controls.Record{
		muteControl("deploy-1", muteT0.Add(2*time.Hour), muteT0, 0),
		ruleMuteControl("disk-1", "disk-full", muteT0.Add(4*time.Hour), muteT0.Add(3*time.Hour), 1), // stamped 3h ahead
	} {
		if outcome, msg := g.Apply(rec); outcome != contract.ControlOK {
			t.Fatalf("%s: %s %q", rec.Key, outcome, msg)
		}
	}
	if m := g.Muted("errors", "c-1", muteT0.Add(time.Hour)); m == nil || m.ID != "deploy-1" {
		t.Errorf("an hour on, an alert of rule errors is muted by %v; want deploy-1 (in force for an hour more)", m)
	}
}

// TestMuteOutcomesDoNotDependOnTheClock: the same mute controls folded at two clocks,
// one behind a control's record time and one a day after all of them, give every
// control the same outcome: what the fold forgets by the clock changes no refusal of
// max_mutes. A mute ended at the record time but kept for the clock is held as if
// forgotten: upserted again at the limit it is refused, as in the fold that forgot it
// (it was answered ok, unchanged).
func TestMuteOutcomesDoNotDependOnTheClock(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 1
	setLimits(t, lim)
	later := muteT0.Add(2 * time.Hour)
	recs := []controls.Record{
		muteControl("a", muteT0.Add(time.Hour), muteT0, 0),
		muteControl("b", muteT0.Add(5*time.Hour), later, 1), // a ended: room for b
		muteControl("a", muteT0.Add(time.Hour), later, 2),   // a again, as it was: b fills the limit
		muteControl("a", muteT0.Add(6*time.Hour), later, 3), // a anew: refused as well
		muteControl("b", time.Time{}, later, 4),             // b deleted
		muteControl("a", muteT0.Add(6*time.Hour), later, 5), // now a fits
	}
	fold := func(clock time.Time) []string {
		g := controls.NewRegistry()
		controls.SetClock(g, func() time.Time { return clock })
		var out []string
		for _, rec := range recs {
			outcome, _ := g.Apply(rec)
			out = append(out, outcome)
		}
		return out
	}
	want := []string{contract.ControlOK, contract.ControlOK, contract.ControlInvalid, contract.ControlInvalid, contract.ControlOK, contract.ControlOK}
	for _, clock := range []time.Time{muteT0, muteT0.Add(24 * time.Hour)} {
		if got := fold(clock); !slices.Equal(got, want) {
			t.Errorf("folded at %s: outcomes %q, want %q", clock.Format(time.RFC3339), got, want)
		}
	}
}
