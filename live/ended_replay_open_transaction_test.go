package live_test

import (
	"context"
	"fmt"
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
// u, and its process ends: killed before its next snapshot (the state store put back
// to the initial snapshot, which names the rule: "snapshot"), or stopped with
// --no-snapshots, its offsets committed ("no snapshots"). The rule is deleted while no
// process runs. A transaction on the events topic then writes two failed logins of
// user x (enough to cross the rule) and stays open. The restarted daemon restores the
// snapshot, or resumes at the committed offset without one, and owes the deleted
// version's replay, to resolve what the process before it may have fired; the replay
// is held (job hook) until:
//
//   - "committed": the transaction commits. The process before, reading committed,
//     never read x's events, open when the restart listed the log: no process could
//     have fired for x, and no resolve of x may be sent. The replay ended at the
//     log's end listed then (the high watermark, past the open transaction's
//     records), read them once committed, and resolved an incident of x never fired.
//   - "aborted": the replay runs while the transaction is still open, and must end
//     (it waits for nothing past the last stable offset, nor counts its records),
//     after which the transaction is aborted.
//
// Either way the alerts topic holds u's firing and its resolve alone.
func TestEndedReplayEndsAtTheLastStableOffset(t *testing.T) {
	t.Parallel()
	const js = `{"id":"bursts","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
	for _, snapshots := range []bool{true, false} {
		for _, commit := range []bool{true, false} {
			name := map[bool]string{true: "snapshot", false: "no snapshots"}[snapshots] + "/" + map[bool]string{true: "committed", false: "aborted"}[commit]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				endedReplayOverATransaction(t, js, snapshots, commit)
			})
		}
	}
}

// endedReplayOverATransaction runs one case of TestEndedReplayEndsAtTheLastStableOffset.
func endedReplayOverATransaction(t *testing.T, js string, snapshots, commit bool) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := t.TempDir()
	group := fmt.Sprintf("endedlso-%t-%t", snapshots, commit)
	conf := func(c *live.Config) {
		c.Group, c.LakeURL, c.NoBackfill = group, "file://"+t.TempDir(), false
		c.NoSnapshots = !snapshots
		if snapshots {
			c.StateURL = "file://" + state
		}
		c.SnapshotInterval, c.MaxSnapshotAge = time.Hour, 2*time.Hour
	}
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, js)))
	var fired contract.Alert
	if snapshots {
		// The initial snapshot names the rule, active before the first event.
		fired = firesThenKilledToInitialSnapshot(t, b, conf, state, func(d *live.Daemon) { waitActive(t, d, []string{js}) })
	} else {
		d, stop := livetest.StartLive(t, b, conf)
		waitActive(t, d, []string{js})
		b.Produce(t, loginFailed("u", 1), loginFailed("u", 2)) // bursts fires for u
		fired = alertsOn(t, b, 1)[0]
		waitCommitted(t, b, d, "u's events")
		stop()
		<-d.Done()
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
	if commit {
		if err := txn.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
			t.Fatalf("committing the transaction: %v", err)
		}
		// Read by the daemon: the log's last stable offset is past them for the replay's
		// listing too. Restored at offset 0, it reads u's events first; without a snapshot
		// it resumes after them, at the committed offset.
		seen := int64(2)
		if snapshots {
			seen += 2
		}
		poll.Until(t, wait, "x's committed events read", func() bool { return d2.EventsSeen() >= seen })
	}
	close(release)
	poll.Until(t, wait, "the replay done", func() bool {
		st := d2.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Backfills == 0
	})
	if !commit {
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
	if n != 2 || alerts[1].Status != contract.StatusResolved || alerts[1].AlertID != fired.AlertID {
		t.Errorf("%d alert records, want 2: bursts' firing for u and its resolve, nothing of x, whose events no process could read before the restart", n)
	}
}
