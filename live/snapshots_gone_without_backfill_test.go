package live_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestStateStoreChangedWithoutBackfillSaysCountsLackHistory: a daemon counted 12
// logins of customer a, its partition's offsets committed (with snapshots, only once a
// snapshot of the partition is stored), and was restarted, with --no-backfill, where no
// snapshot of the partition is: --state pointing at another, empty store (a changed
// flag; or the store emptied while it was down), or --no-snapshots. It resumes at the
// committed offset with empty counts, and nothing recounts the 12: as for an unreadable
// snapshot (TestUnreadableSnapshotWithoutBackfill), the counts must say they lack that
// history (status error, incomplete). They were answered as live and complete, 1 where
// the customer has 13.
func TestStateStoreChangedWithoutBackfillSaysCountsLackHistory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		state func(t *testing.T, c *live.Config)
	}{
		{"another store", func(t *testing.T, c *live.Config) { c.StateURL = "file://" + t.TempDir() }},
		{"no snapshots", func(t *testing.T, c *live.Config) { c.NoSnapshots = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			const group = "state-changed-nb"
			r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
			b.Produce(t, livetest.Upsert(t, r))
			for range 12 {
				b.Produce(t, livetest.Event("a", `{"type":"login"}`))
			}
			first, stop := livetest.StartLive(t, b, func(c *live.Config) { c.Group = group; tc.state(t, c) })
			poll.Until(t, 20*time.Second, "every event counted", func() bool { return first.EventsSeen() == 12 })
			stop()
			<-first.Done()
			if c := b.GroupCommitted(t, group, "events"); c != 12 {
				t.Fatalf("group committed %d, want 12", c)
			}

			second, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group = group; tc.state(t, c) })
			b.Produce(t, livetest.Event("a", `{"type":"login"}`))
			poll.Until(t, 20*time.Second, "the new event counted", func() bool { return second.EventsSeen() == 1 })
			v, _ := second.Count(r.Key(), "a")
			var incomplete []contract.MissingRange
			for _, rv := range second.Rules() {
				incomplete = append(incomplete, rv.Incomplete...)
			}
			if v.Count != 13 && (v.Status != contract.RuleError || len(incomplete) == 0) {
				t.Errorf("count %d, status %q, incomplete %+v: the 12 events below the committed offset are in no count, and the count says it is complete",
					v.Count, v.Status, incomplete)
			}
		})
	}
}
