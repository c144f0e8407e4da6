package notify

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/rule"
)

// TestLookBackLeavesOutOnlyWindowsBeforeIt: the reading again read a partition's
// alerts from since on, and an ended mute written before since covered rule r. A
// resolve whose incident's window began exactly at since had its firing written at
// since or later, so read again: the look-back changed nothing for it, and it is not
// to count notify_remember_for_seconds. One whose window began a nanosecond earlier
// may have been left out. Found by a mutation hunt: '!WindowStart.Before(since)' as
// 'WindowStart.After(since)' passed every test.
func TestLookBackLeavesOutOnlyWindowsBeforeIt(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := since.Add(2 * time.Hour)
	reg := controls.NewRegistry()
	c := rule.UpsertMute(&rule.Mute{Scope: "*", ID: "maint", Rule: "r", Until: since.Add(time.Hour), Reason: "maintenance", By: "ops"})
	if outcome, msg := reg.Apply(controls.Record{Key: c.RecordKey(), Offset: 0, Time: since.Add(-time.Hour), Control: c}); outcome != contract.ControlOK {
		t.Fatalf("applying the mute: %s %s", outcome, msg)
	}
	s := &Stage{reg: reg, open: newOpenFirings(10, func() {}, testlog.New(t))}
	tr := &tracker{}
	s.open.lookedBack(tr, since, false)

	for _, tc := range []struct {
		start time.Time
		want  bool
	}{
		{since.Add(-time.Nanosecond), true},
		{since, false},
	} {
		a := contract.Alert{AlertID: "a1", RuleID: "r", Customer: "c-1", Status: contract.StatusResolved, WindowStart: &tc.start}
		got, failed, ok := s.forgottenByLookBack(tr, &a, now)
		if !got.Equal(since) || failed || ok != tc.want {
			t.Errorf("window starting %s: forgottenByLookBack = (%s, %v, %v); want (%s, false, %v)",
				tc.start.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano), failed, ok, since.Format(time.RFC3339), tc.want)
		}
	}
}

// TestFiringReadAgainNotNotedAfterTheLookBackFailed: a partition whose reading again
// failed (lookedBack, failed) keeps no ids of firings read again: the resolve of each is
// to be logged as possibly following a firing not sent, which a noted id silenced
// (recall's readAgain). Its reading succeeded, the same firing is noted. Found by a
// mutation hunt: noteReadAgain without 't.lookBackFailed ||' passed every test. The
// stage itself notes a partition failed only once its reading stopped, so this pins the
// guard for a reading that notes after that.
func TestFiringReadAgainNotNotedAfterTheLookBackFailed(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	start := since.Add(-time.Hour)
	for _, failed := range []bool{true, false} {
		o := newOpenFirings(10, func() {}, testlog.New(t))
		tr := &tracker{}
		o.lookedBack(tr, since, failed)
		o.noteReadAgain(tr, "f1", &start)
		_, noted := tr.readAgain["f1"]
		if noted == failed || o.readAgain != len(tr.readAgain) {
			t.Errorf("look-back failed %v: f1 noted %v (%d ids counted, %d held); want noted %v", failed, noted, o.readAgain, len(tr.readAgain), !failed)
		}
		if _, readAgain := o.recall(tr, "f1"); readAgain != !failed {
			t.Errorf("look-back failed %v: recall's readAgain %v; want %v", failed, readAgain, !failed)
		}
	}
}
