package live_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestCountStatusIncompleteInOnePartitionOfTwo: of the two partitions owned, one lacks
// a plain count's history (its hand-off was pending in the snapshot restored under
// --no-backfill), the other lacks nothing. The count over both is a lower bound: its
// status is error whichever partition is visited last (they are visited in a map's
// order, so the answer is asked many times).
func TestCountStatusIncompleteInOnePartitionOfTwo(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	state := "file://" + t.TempDir()
	const group = "count-status-two"
	_, restore := holdJobs(group) // the first daemon's backfill never runs
	d, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.NoBackfill = group, state, false
	})
	hist := b.Produce(t, loginFailed("z", 0)) // history in one partition only
	waitSeen(t, d, 1)
	const js = `{"id":"logins","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":100}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	if live := b.Produce(t, loginFailed("a", 1)); live[0].Partition != hist[0].Partition {
		t.Fatalf("events of one customer in partitions %d and %d", hist[0].Partition, live[0].Partition)
	}
	waitSeen(t, d, 2)
	stop()
	<-d.Done()
	restore()

	d, _ = livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.NoBackfill = group, state, true
	})
	poll.Until(t, wait, "both partitions owned, the one with history restored", func() bool {
		st := d.State()
		if len(st.Partitions) != 2 {
			return false
		}
		for _, p := range st.Partitions {
			if p.Partition == hist[0].Partition && p.Restored == nil {
				return false
			}
		}
		return true
	})
	v := ruleView(t, d, r.Key())
	if len(v.Incomplete) != 1 || v.Incomplete[0].Partition != hist[0].Partition {
		t.Fatalf("incomplete %+v, want partition %d's history alone", v.Incomplete, hist[0].Partition)
	}
	for i := range 64 {
		c, ok := d.Count(r.Key(), "c-1")
		if !ok || c.Status != contract.RuleError || c.Count != 1 {
			t.Fatalf("count %d of c-1 over both partitions: %+v (ok %v); want 1, status error (partition %d lacks its history)", i, c, ok, hist[0].Partition)
		}
	}
}
