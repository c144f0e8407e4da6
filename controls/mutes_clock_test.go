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

// TestSkewedControlLeavesMaxMutes: one mute control stamped far ahead of the clock
// (a delete of a key that holds nothing) changes no later control's count of
// max_mutes. A first version judged every later control at the latest record time: the
// mutes ending before it were not counted, all ten were accepted though in force by the
// clock, beyond the limit and without bound.
func TestSkewedControlLeavesMaxMutes(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 2
	setLimits(t, lim)
	g := controls.NewRegistry()
	now := muteT0
	controls.SetClock(g, func() time.Time { return now })
	// A delete of a mute that is not there, stamped 100 days ahead (a timestamp set by hand).
	if outcome, _ := g.Apply(muteControl("typo", time.Time{}, muteT0.Add(100*24*time.Hour), 0)); outcome != contract.ControlNotFound {
		t.Fatalf("skewed delete: %s", outcome)
	}
	var outcomes []string
	for i := range 10 {
		now = muteT0.Add(time.Duration(i+1) * time.Minute)
		outcome, _ := g.Apply(muteControl(fmt.Sprintf("m%d", i), muteT0.Add(30*24*time.Hour), now, int64(i+1)))
		outcomes = append(outcomes, outcome)
	}
	inForce := 0
	for _, m := range g.Mutes() {
		if m.Until.IsZero() || now.Before(m.Until) {
			inForce++
		}
	}
	if inForce > lim.MaxMutes {
		t.Errorf("max_mutes %d, but %d mutes in force by the clock are held; outcomes %q", lim.MaxMutes, inForce, outcomes)
	}
}

// TestUnmuteOutcomeDoesNotDependOnTheClock: the same three mute controls folded at two
// clocks. Mute a ends at T0+1h; b's control is stamped T0+2h; a's delete follows. A
// process folding with its clock at T0+30m (b stamped 90 minutes ahead) keeps a
// lingering, a replay the next day does not: both answer the delete not_found, as the
// fold forgot a at b's record time (a first version answered ok where a was kept).
func TestUnmuteOutcomeDoesNotDependOnTheClock(t *testing.T) {
	setLimits(t, rule.DefaultLimits)
	recs := []controls.Record{
		muteControl("a", muteT0.Add(time.Hour), muteT0, 0),
		muteControl("b", muteT0.Add(10*time.Hour), muteT0.Add(2*time.Hour), 1),
		muteControl("a", time.Time{}, muteT0.Add(2*time.Hour), 2), // unmute a
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
	early, late := fold(muteT0.Add(30*time.Minute)), fold(muteT0.Add(24*time.Hour))
	if !slices.Equal(early, late) {
		t.Errorf("outcomes folded at T0+30m %q, at T0+24h %q: the same records must get the same outcomes", early, late)
	}
}

// TestSkewedRecordTimesSurviveCompaction: max_mutes 1, record times not rising with
// offsets (one producer's clock 5h ahead wrote s, which a later control of s replaced).
// The fold of the whole log and the fold of what compaction leaves (s's first record
// gone) give mute c the same outcome, refused (a in force at c's record time). A first
// version judged c at the latest record time, T0+5h in one fold and T0+3m in the other.
func TestSkewedRecordTimesSurviveCompaction(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 1
	setLimits(t, lim)
	log := []controls.Record{
		muteControl("s", time.Time{}, muteT0.Add(5*time.Hour), 0),               // delete of s, stamped 5h ahead
		muteControl("s", time.Time{}, muteT0, 1),                                // delete of s again, right time
		muteControl("a", muteT0.Add(time.Hour), muteT0.Add(2*time.Minute), 2),   // a, in force an hour
		muteControl("c", muteT0.Add(2*time.Hour), muteT0.Add(3*time.Minute), 3), // c: a fills the limit
	}
	fold := func(recs []controls.Record) map[int64]string {
		g := controls.NewRegistry()
		controls.SetClock(g, func() time.Time { return muteT0.Add(3 * time.Minute) })
		out := map[int64]string{}
		for _, rec := range recs {
			outcome, _ := g.Apply(rec)
			out[rec.Offset] = outcome
		}
		return out
	}
	full, compacted := fold(log), fold(log[1:]) // compaction keeps the newest record of s, offset 1
	if full[3] != compacted[3] {
		t.Errorf("mute c (offset 3): %s in the fold of the whole log, %s in the fold of the compacted topic", full[3], compacted[3])
	}
}

// TestLingeringMuteIsListedAndUnmuted: a mute forgotten at a control stamped ahead of
// the clock, still in force by it, is listed (the console shows it, with its Unmute
// button) until its key is unmuted or muted anew. The unmute is answered not_found, as
// in a process that folds the controls after the mute's end, and the mute stops
// muting; a mute anew replaces it.
func TestLingeringMuteIsListedAndUnmuted(t *testing.T) {
	setLimits(t, rule.DefaultLimits)
	ids := func(g *controls.Registry) (out []string) {
		for _, m := range g.Mutes() {
			out = append(out, m.ID)
		}
		return out
	}
	ahead := muteT0.Add(3 * time.Hour)
	for _, tc := range []struct {
		name        string
		then        controls.Record
		wantOutcome string
		wantIDs     []string
		wantMuted   string // the mute of an alert of rule errors an hour on
	}{
		{"unmuted", muteControl("deploy-1", time.Time{}, ahead, 2), contract.ControlNotFound, []string{"disk-1"}, ""},
		{"muted anew", muteControl("deploy-1", muteT0.Add(5*time.Hour), ahead, 2), contract.ControlOK, []string{"deploy-1", "disk-1"}, "deploy-1 until 17:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := controls.NewRegistry()
			controls.SetClock(g, func() time.Time { return muteT0 })
			for _, rec := range []controls.Record{
				muteControl("deploy-1", muteT0.Add(2*time.Hour), muteT0, 0),
				ruleMuteControl("disk-1", "disk-full", muteT0.Add(4*time.Hour), ahead, 1),
			} {
				if outcome, msg := g.Apply(rec); outcome != contract.ControlOK {
					t.Fatalf("%s: %s %q", rec.Key, outcome, msg)
				}
			}
			if got := ids(g); !slices.Equal(got, []string{"deploy-1", "disk-1"}) {
				t.Fatalf("mutes listed %q; want deploy-1 (lingering) and disk-1", got)
			}
			if outcome, msg := g.Apply(tc.then); outcome != tc.wantOutcome {
				t.Errorf("%s: %s %q, want %s", tc.then.Key, outcome, msg, tc.wantOutcome)
			}
			if got := ids(g); !slices.Equal(got, tc.wantIDs) {
				t.Errorf("mutes listed %q, want %q", got, tc.wantIDs)
			}
			got := ""
			if m := g.Muted("errors", "c-1", muteT0.Add(time.Hour)); m != nil {
				got = m.ID + " until " + m.Until.Format("15:04")
			}
			if got != tc.wantMuted {
				t.Errorf("an alert of rule errors an hour on is muted by %q, want %q", got, tc.wantMuted)
			}
		})
	}
}
