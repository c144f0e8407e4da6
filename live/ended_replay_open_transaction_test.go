package live_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestEndedReplayEndsAtTheLastStableOffset: a windowed rule with resolve fires for user
// u; its process is then killed before its next snapshot (the state store put back to
// the initial snapshot, which names the rule), and the rule is deleted while no process
// runs. A transaction on the events topic then writes two failed logins of user x
// (enough to cross the rule) and stays open. The restarted daemon restores the
// snapshot, and owes the deleted version's replay, to resolve what the killed process
// may have fired after it; the replay is held (job hook) until:
//
//   - "committed": the transaction commits. The killed process, reading committed,
//     never read x's events, open when the restore listed the log: no process could
//     have fired for x, and no resolve of x may be sent. The replay ended at the
//     log's end the restore listed (the high watermark, past the open transaction's
//     records), read them once committed, and resolved an incident of x never fired.
//   - "aborted": the replay runs while the transaction is still open, and must end
//     (it waits for nothing past the last stable offset, nor counts its records),
//     after which the transaction is aborted.
//
// Either way the alerts topic holds u's firing and its resolve alone.
func TestEndedReplayEndsAtTheLastStableOffset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		commit bool
	}{{"committed", true}, {"aborted", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			state := t.TempDir()
			saved := filepath.Join(t.TempDir(), "saved")
			group := "endedlso-" + tc.name
			conf := func(c *live.Config) {
				c.Group, c.StateURL, c.LakeURL = group, "file://"+state, "file://"+t.TempDir()
				c.NoBackfill = false
				c.SnapshotInterval, c.MaxSnapshotAge = time.Hour, 2*time.Hour
			}
			const js = `{"id":"bursts","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},
			  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
			b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, js)))

			d, stop := livetest.StartLive(t, b, conf)
			waitActive(t, d, []string{js})
			poll.Until(t, wait, "the initial snapshot stored", func() bool {
				st := d.State()
				return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil
			})
			if err := os.CopyFS(saved, os.DirFS(state)); err != nil {
				t.Fatal(err)
			}
			b.Produce(t, loginFailed("u", 1), loginFailed("u", 2)) // bursts fires for u
			fired := alertsOn(t, b, 1)
			if fired[0].Status != contract.StatusFiring {
				t.Fatalf("first alert %+v, want bursts firing", fired[0])
			}
			stop()
			<-d.Done()
			// Killed before its next snapshot: the initial one is the newest.
			if err := os.RemoveAll(state); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(state, os.DirFS(saved)); err != nil {
				t.Fatal(err)
			}
			b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"}))
			txn := b.TxnClient(t, "txn-"+group, []string{"events"})
			kafkatest.ProduceInTransaction(t, txn, loginFailed("x", 3), loginFailed("x", 4)) // left open

			release := make(chan struct{})
			held := make(chan struct{}, 1)
			defer live.SetJobHook(group, func(ctx context.Context) {
				select {
				case held <- struct{}{}:
				default:
				}
				select {
				case <-ctx.Done():
				case <-release:
				}
			})()
			d2, stop2 := livetest.StartLive(t, b, conf)
			select {
			case <-held:
			case <-time.After(wait):
				t.Fatalf("no replay of the deleted version started within %s", wait)
			}
			if tc.commit {
				if err := txn.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
					t.Fatalf("committing the transaction: %v", err)
				}
				poll.Until(t, wait, "x's committed events read", func() bool { return d2.EventsSeen() >= 4 })
			}
			close(release)
			poll.Until(t, wait, "the replay done", func() bool {
				st := d2.State()
				return len(st.Partitions) == 1 && st.Partitions[0].Backfills == 0
			})
			if !tc.commit {
				if err := txn.EndTransaction(context.Background(), kgo.TryAbort); err != nil {
					t.Fatalf("aborting the transaction: %v", err)
				}
			}
			// The stop flushes whatever the replay produced.
			stop2()
			<-d2.Done()
			n := b.TopicRecords(t, "alerts")
			alerts := alertsOn(t, b, int(n))
			for _, a := range alerts {
				t.Logf("alert %s v%d %s %s group %s offset %d", a.RuleID, a.Version, a.Status, a.AlertID, a.Group, a.Offset)
			}
			if n != 2 || alerts[1].Status != contract.StatusResolved || alerts[1].AlertID != fired[0].AlertID {
				t.Errorf("%d alert records, want 2: bursts' firing for u and its resolve, nothing of x, whose events no process could read before the restore", n)
			}
		})
	}
}
