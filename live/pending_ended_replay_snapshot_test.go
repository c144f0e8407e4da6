package live_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPendingEndedReplayAtLogEndResolvesOnce: a snapshot S is taken while a windowed
// version's hand-off is pending (its events buffered); a later process restores S,
// finishes the hand-off, fires for a, and is killed before its next snapshot (the
// state store is put back to S). The rule is deleted while no process runs, and no
// event arrives: the log ends at S's offset. The next process restores S: the ended
// version's hand-off was pending in it, so the firing alert a process may have sent
// after S is resolved by a replay, though nothing was evaluated past S's offset. That
// replay is what S owes: once it is done the process stores a new snapshot, so the
// one after it restores that, replays nothing and sends no second resolve.
func TestPendingEndedReplayAtLogEndResolvesOnce(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	stateDir := t.TempDir()
	saved := filepath.Join(t.TempDir(), "saved")
	const group = "pending-ended-replay"
	conf := func(c *live.Config) { c.Group, c.StateURL, c.NoBackfill = group, "file://"+stateDir, false }
	restored := func(d *live.Daemon) *contract.SnapshotInfo {
		t.Helper()
		var got *contract.SnapshotInfo
		poll.Until(t, wait, "the partition restored, no job running", func() bool {
			st := d.State()
			if len(st.Partitions) != 1 || st.Partitions[0].Restored == nil || st.Partitions[0].Backfills != 0 {
				return false
			}
			got = st.Partitions[0].Restored
			return true
		})
		return got
	}

	// 1. The hand-off pending when the snapshot S is stored.
	_, restore := holdJobs(group)
	d, stop := livetest.StartLive(t, b, conf)
	b.Produce(t, loginFailed("z", 0)) // history: the hand-off has a job
	waitSeen(t, d, 1)
	const js = `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	b.Produce(t, loginFailed("a", 1), loginFailed("a", 2)) // after activation: buffered
	waitSeen(t, d, 3)
	stop()
	<-d.Done()
	restore()
	if err := os.CopyFS(saved, os.DirFS(stateDir)); err != nil {
		t.Fatal(err)
	}

	// 2. A process restores S, finishes the hand-off, fires for a; killed before its
	// next snapshot.
	d, stop = livetest.StartLive(t, b, conf)
	s := restored(d)
	fired := alertsOn(t, b, 1)
	if fired[0].Status != contract.StatusFiring || fired[0].RuleID != "bursts" {
		t.Fatalf("first alert %+v, want bursts firing", fired[0])
	}
	stop()
	<-d.Done()
	if err := os.RemoveAll(stateDir); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(stateDir, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}
	b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"}))

	// 3. The next restores S again: the ended version's replay resolves a.
	d, stop = livetest.StartLive(t, b, conf)
	if got := restored(d); got.Key != s.Key || got.Offset != 3 {
		t.Fatalf("restored %+v, want S (%s) at offset 3, the log's end", got, s.Key)
	}
	var n int64
	poll.WithinEvery(10*time.Second, 50*time.Millisecond, func() bool {
		n = b.TopicRecords(t, "alerts")
		return n >= 2
	})
	if n != 2 {
		t.Fatalf("%d alert records, want bursts' firing and its resolve: the firing sent after S stays open", n)
	}
	if a := alertsOn(t, b, 2)[1]; a.Status != contract.StatusResolved || a.AlertID != fired[0].AlertID {
		t.Fatalf("second alert %+v, want the resolve of %s", a, fired[0].AlertID)
	}
	stop()
	<-d.Done()

	// 4. The next restores the snapshot stored after the replay, not S.
	d, _ = livetest.StartLive(t, b, conf)
	if got := restored(d); got.Key == s.Key {
		poll.WithinEvery(10*time.Second, 50*time.Millisecond, func() bool { return b.TopicRecords(t, "alerts") >= 3 })
		t.Errorf("restored S (%s) again after its ended version's replay was done: no snapshot was stored after it; %d alert records now, want 2",
			s.Key, b.TopicRecords(t, "alerts"))
	}
	if n := b.TopicRecords(t, "alerts"); n != 2 {
		for _, a := range alertsOn(t, b, int(n)) {
			t.Logf("alert %s v%d %s %s group %s offset %d", a.RuleID, a.Version, a.Status, a.AlertID, a.Group, a.Offset)
		}
		t.Errorf("%d alert records after a second restart, want 2 (one firing, one resolve)", n)
	}
}
