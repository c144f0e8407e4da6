package live_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStopSnapshotHeldBackByEndedReplayFails: a partition whose ended version's replay
// is still running stores no snapshot (one stored before the replay's resolves are out
// would lose them), and the stop closes the partition before the replay can finish. Its
// changed state's final snapshot is not stored, as when the store refuses it, and the
// stop said nothing: the daemon ended with nil (hindsight live exited 0). It ends with
// ErrFinalSnapshot, as any final snapshot not stored does.
func TestStopSnapshotHeldBackByEndedReplayFails(t *testing.T) {
	if testing.Short() {
		t.Skip("two daemons and a held replay: make test runs it")
	}
	t.Parallel()
	const js = `{"id":"bursts","scope":"*","version":%d,"description":%q,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	group := "stop-held-replay"
	conf := func(c *live.Config) { c.Group, c.NoBackfill, c.StateURL = group, false, "file://"+t.TempDir() }
	d, stop := livetest.StartLive(t, b, conf)
	v1 := fmt.Sprintf(js, 1, "first")
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, v1)))
	waitActive(t, d, []string{v1})
	b.Produce(t, loginFailed("a", 1), loginFailed("a", 2)) // version 1 fires for a
	alertsOn(t, b, 1)
	waitCommitted(t, b, d, "the first events")
	stop()
	<-d.Done()

	// Deleted while down; the next daemon's store (another one) holds no snapshot, so it
	// replays version 1, held here until the stop.
	b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"}))
	release, restore := holdJobs(group)
	defer restore()
	defer release()
	reg := prometheus.NewRegistry()
	d, stop = livetest.StartLiveStoppingWith(t, b, func(c *live.Config) { conf(c); c.Registry = reg }, live.ErrFinalSnapshot)
	poll.Until(t, wait, "version 1's replay running", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Backfills == 1
	})
	seen := d.EventsSeen()
	b.Produce(t, loginFailed("z", 3))
	poll.Until(t, wait, "the event after the restart evaluated", func() bool { return d.EventsSeen() > seen })
	stop()
	<-d.Done()
	if err := d.Wait(); !errors.Is(err, live.ErrFinalSnapshot) {
		t.Errorf("the stop whose partition's snapshot was held back by a running replay, its changed state not stored, ended with %v, want ErrFinalSnapshot", err)
	}
	if st := d.State(); len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil {
		t.Errorf("a snapshot was stored while version 1's replay ran: %+v", st.Partitions[0].LastSnapshot)
	}
	// Counted as any snapshot not stored: a revoke's held back so (a clean rebalance)
	// ends no process, and its next owner repeats the alerts sent since the snapshot
	// it restores, which only a warning said.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	failures := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "hindsight_snapshot_failures_total" {
			failures = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if failures != 1 {
		t.Errorf("hindsight_snapshot_failures_total = %v after the snapshot held back by the replay, want 1", failures)
	}
}
