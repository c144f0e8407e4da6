package controls_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestMaxEndedMutesKeepsMutesInForceByTheClock: the mute index files a mute as ended at
// the newest mute control's record time, not the clock, and max_mutes counts only the
// mutes in force at each control's own time. A producer whose clock is an hour fast
// writes a mute "for 5m" every 10 minutes (never more than one in force at any record
// time, so max_mutes 2 refuses none); by the clock all are still in force. With
// max_ended_mutes 2 the fourth control forgot the first mute (a review's test), whose
// alerts then went out; the bound takes only mutes that ended an hour before the
// control's own time.
func TestMaxEndedMutesKeepsMutesInForceByTheClock(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 2
	lim.MaxEndedMutes = 2
	setLimits(t, lim)
	g := controls.NewRegistry()
	skew := time.Hour
	now := muteT0 // the clock
	for i := range 4 {
		at := now.Add(skew + time.Duration(i)*10*time.Minute) // the fast producer's stamp
		rec := controls.Decode([]byte(fmt.Sprintf("mute:c-%d/m", i)),
			fmt.Appendf(nil, `{"op":"upsert","mute":{"scope":"c-%d","id":"m","rule":"*","until":%q}}`, i, at.Add(5*time.Minute).Format(time.RFC3339)),
			0, int64(i), at)
		if outcome, msg := g.Apply(rec); outcome != contract.ControlOK {
			t.Fatalf("mute %d: %s %q", i, outcome, msg)
		}
	}
	for i := range 4 {
		if m := g.Muted("logins", fmt.Sprintf("c-%d", i), now); m == nil {
			t.Errorf("customer c-%d: not muted at %s, though its mute (until %s) is in force by the clock (max_ended_mutes %d = max_mutes %d; forgotten %d)",
				i, now.Format(time.RFC3339), now.Add(skew+time.Duration(i)*10*time.Minute+5*time.Minute).Format(time.RFC3339), lim.MaxEndedMutes, lim.MaxMutes, g.EndedMutesDropped())
		}
	}
}

// TestOneSkewedControlEndsLaterMutes: one mute control stamped far ahead (a delete of
// a mute that is not there, its timestamp set by hand) raises the index's time for
// good, and every mute upserted after it at the right time is filed as ended. Under
// max_ended_mutes 0 a mute "for 2h" written an hour later was answered ok and
// forgotten at once (a review's test); judged at its own control's time, it stays.
func TestOneSkewedControlEndsLaterMutes(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxEndedMutes = 0
	setLimits(t, lim)
	g := controls.NewRegistry()
	if outcome, _ := g.Apply(muteControl("typo", time.Time{}, muteT0.Add(100*24*time.Hour), 0)); outcome != contract.ControlNotFound {
		t.Fatalf("skewed delete: %s", outcome)
	}
	at := muteT0.Add(time.Hour)
	if outcome, msg := g.Apply(muteControl("deploy", at.Add(2*time.Hour), at, 1)); outcome != contract.ControlOK {
		t.Fatalf("mute: %s %q", outcome, msg)
	}
	now := at.Add(time.Minute)
	if m := g.Muted("logins", "c-1", now); m == nil {
		t.Errorf("a minute into mute deploy (for 2h, answered ok), after one control stamped 100 days ahead: not muted; mutes held %d, forgotten past max_ended_mutes %d",
			len(g.Mutes()), g.EndedMutesDropped())
	}
}
