package controls_test

import (
	"fmt"
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
