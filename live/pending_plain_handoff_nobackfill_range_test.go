package live_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestPendingPlainHandoffRestoredWithoutBackfillRange: as
// TestPendingHandoffRestoredWithoutBackfill, for a plain count. Its live counts were
// in the snapshot from the version's start on; what it lacks is its history alone,
// offsets 0 to start-1: the missing range must end there, not claim the first event
// it counted live.
func TestPendingPlainHandoffRestoredWithoutBackfillRange(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := "file://" + t.TempDir()
	const group = "pending-plain-nobf"
	_, restore := holdJobs(group) // the first daemon's backfill never runs
	d, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.NoBackfill = group, state, false
	})
	b.Produce(t, loginFailed("z", 0), loginFailed("z", 1)) // history: the hand-off has a job
	waitSeen(t, d, 2)
	const js = `{"id":"logins","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":100}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	b.Produce(t, loginFailed("a", 2), loginFailed("a", 3)) // counted live
	waitSeen(t, d, 4)
	var start int64
	poll.Until(t, wait, "the hand-off pending, its start known", func() bool {
		v := ruleView(t, d, r.Key())
		s, ok := v.StartOffsets[0]
		start = s
		return ok && len(v.Backfill) == 1
	})
	if start != 2 {
		t.Fatalf("the version started at offset %d, want 2 (after the two events of history)", start)
	}
	stop()
	<-d.Done()
	restore()

	d, _ = livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.NoBackfill = group, state, true
	})
	poll.Until(t, wait, "the partition restored", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil
	})
	v := ruleView(t, d, r.Key())
	if v.Status != contract.RuleError || len(v.Incomplete) != 1 || v.Incomplete[0].From != 0 || v.Incomplete[0].To != start-1 {
		t.Errorf("plain count restored without backfill, its hand-off unfinished: status %s, incomplete %+v; want error, missing offsets 0 to %d (its history alone)", v.Status, v.Incomplete, start-1)
	}
}
