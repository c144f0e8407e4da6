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
	key := []byte("mute:*/" + id)
	if until.IsZero() {
		return controls.Decode(key, fmt.Appendf(nil, `{"op":"delete","kind":"mute","scope":"*","id":%q}`, id), 0, offset, at)
	}
	return controls.Decode(key, fmt.Appendf(nil, `{"op":"upsert","mute":{"scope":"*","id":%q,"rule":"*","until":%q,"reason":"deploy"}}`,
		id, until.Format(time.RFC3339)), 0, offset, at)
}

// TestSkewedControlLeavesMaxMutes: one mute control stamped far ahead of the clock
// (a delete of a key that holds nothing) changes no later control's count of
// max_mutes. A fold that judged every later control at the latest record time (tried,
// to keep mutes a skewed control had ended) counted none of the mutes ending before
// it: all ten were accepted though in force, beyond the limit and without bound.
func TestSkewedControlLeavesMaxMutes(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 2
	setLimits(t, lim)
	g := controls.NewRegistry()
	now := muteT0
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

// TestSkewedRecordTimesSurviveCompaction: max_mutes 1, record times not rising with
// offsets (one producer's clock 5h ahead wrote s, which a later control of s replaced).
// The fold of the whole log and the fold of what compaction leaves (s's first record
// gone) give mute c the same outcome, refused (a in force at c's record time). A fold
// judging c at the latest record time found T0+5h in one and T0+3m in the other.
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

// TestSkewedControlKeepsMutesInForce: a mute in force for two hours, then a mute
// control stamped five hours ahead of the clock (a producer whose clock is fast: here
// the delete of a mute that does not exist). The
// fold forgot every mute ended at that control's time, this one among them, and its
// alerts went out while it was in force by the clock. Now an ended mute is forgotten
// only mute_retention after its end, so a stamp that far ahead of the clock is what it
// takes; with mute_retention 0 the mute is forgotten as before.
func TestSkewedControlKeepsMutesInForce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention time.Duration
		wantMuted bool
	}{
		{"default retention", time.Duration(rule.DefaultLimits.MuteRetention), true},
		{"retention shorter than the skew past the end", 2 * time.Hour, false},
		{"no retention", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := rule.DefaultLimits
			lim.MuteRetention = rule.Duration(tc.retention)
			setLimits(t, lim)
			g := controls.NewRegistry()
			if outcome, msg := g.Apply(muteControl("deploy", muteT0.Add(2*time.Hour), muteT0, 0)); outcome != contract.ControlOK {
				t.Fatalf("mute: %s %q", outcome, msg)
			}
			// A delete of a mute that is not there, stamped 5h ahead.
			if outcome, msg := g.Apply(muteControl("typo", time.Time{}, muteT0.Add(5*time.Hour), 1)); outcome != contract.ControlNotFound {
				t.Fatalf("delete stamped 5h ahead: %s %q", outcome, msg)
			}
			now := muteT0.Add(time.Hour) // the clock: deploy is in force
			m := g.Muted("logins", "c-1", now)
			if got := m != nil && m.ID == "deploy"; got != tc.wantMuted {
				t.Errorf("an hour into the 2h mute, after a control stamped 5h ahead: muted by %v; want muted by deploy %v (mute_retention %s)", m, tc.wantMuted, tc.retention)
			}
		})
	}
}

// TestEndedMuteListedAlikeAfterCompaction: mute a ended on day 1; mute b's upsert on
// day 7 makes the fold forget a (ended over mute_retention before); b's tombstone
// follows. Compaction keeps a's upsert and, after delete.retention.ms, removes b's
// records: a fold of what is left holds a, which no later mute control makes it
// forget. Listings (MutesListed, at any time after the last record) show the same
// for both folds: a restarted daemon no longer lists a mute the running one had
// forgotten.
func TestEndedMuteListedAlikeAfterCompaction(t *testing.T) {
	setLimits(t, rule.DefaultLimits)
	day := 24 * time.Hour
	log := []controls.Record{
		muteControl("a", muteT0.Add(day), muteT0, 0),
		muteControl("b", muteT0.Add(8*day), muteT0.Add(7*day), 1),
		controls.Decode([]byte("mute:*/b"), nil, 0, 2, muteT0.Add(7*day)), // tombstone
	}
	fold := func(recs []controls.Record) *controls.Registry {
		g := controls.NewRegistry()
		for _, rec := range recs {
			g.Apply(rec)
		}
		return g
	}
	ids := func(ms []*rule.Mute) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	running, restarted := fold(log), fold(log[:1])
	for _, now := range []time.Time{muteT0.Add(7 * day), muteT0.Add(8 * day), muteT0.Add(30 * day)} {
		if a, b := ids(running.MutesListed(now)), ids(restarted.MutesListed(now)); !slices.Equal(a, b) {
			t.Errorf("listed at %s: %q by the fold of the whole log, %q by the fold of the compacted topic", now, a, b)
		}
	}
}
