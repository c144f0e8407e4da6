package live_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPendingRecountEndedAfterSnapshotResolvesEarlierFiring: process A, with
// --no-snapshots, fires a windowed rule with resolve for a and stops, the incident open.
// Process B takes the partition with snapshots on but none stored: it recounts the
// version from where A committed, and stops with that recount pending, storing snapshot
// S (the version pending, started at B's resume offset). The rule is deleted while no
// process runs. Process C restores S: the ended version's replay must resolve A's
// firing, opened below S's start, as B's recount would have had it finished, and as
// the replay does when the version ends while the recount is pending in B
// (TestEditDuringRecountResolvesEarlierFiring).
func TestPendingRecountEndedAfterSnapshotResolvesEarlierFiring(t *testing.T) {
	t.Parallel()
	b, _, withState, fired := firedThenRecountStored(t, "pending-recount-ended")

	b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"}))

	// C: restores S, the version ended since.
	d, _ := livetest.StartLive(t, b, withState)
	poll.Until(t, wait, "C restored S, no job running", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil && st.Partitions[0].Backfills == 0
	})
	if got := d.State().Partitions[0].Restored; got.Offset != 2 {
		t.Fatalf("C restored %+v, want B's snapshot at offset 2", got)
	}
	// A bounded wait for the resolve, not a timing assertion: the replay is done (no
	// job running), its alerts produced after.
	poll.Within(10*time.Second, func() bool { return b.TopicRecords(t, "alerts") >= 2 })
	resolved := 0
	for _, a := range alertsOn(t, b, int(b.TopicRecords(t, "alerts"))) {
		t.Logf("alert v%d %s %s offset %d", a.Version, a.Status, a.AlertID, a.Offset)
		if a.Status == contract.StatusResolved && a.AlertID == fired[0].AlertID {
			resolved++
		}
	}
	if resolved != 1 {
		t.Errorf("A's firing alert %s resolved %d times after C restored B's snapshot (its recount pending) of the deleted version, want once: it stays open for ever",
			fired[0].AlertID, resolved)
	}
}

// TestRestoredRecountEndedWhilePendingResolvesEarlierFiring: as above, A fires with
// --no-snapshots and B stores S with its recount pending; but C restores S with its jobs
// held, so that the recount S held pending is pending again in C, and the rule is
// deleted then. The recount's start is where B resumed, and A fired below it: the
// ended version's replay must resolve A's firing, as C's recount would have had it
// finished, and as it does for the same recount pending in B
// (TestEditDuringRecountResolvesEarlierFiring).
func TestRestoredRecountEndedWhilePendingResolvesEarlierFiring(t *testing.T) {
	if testing.Short() {
		t.Skip("three daemons and held recounts: make test runs it")
	}
	t.Parallel()
	b, group, withState, fired := firedThenRecountStored(t, "restored-recount-ended-pending")

	// C: restores S, its recount held; the rule is deleted while it is pending.
	release, restore := holdJobs(group)
	defer restore()
	defer release()
	d, stop := livetest.StartLive(t, b, withState)
	poll.Until(t, wait, "C restored S, its recount pending", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil && st.Partitions[0].Backfills == 1
	})
	if got := d.State().Partitions[0].Restored; got.Offset != 2 {
		t.Fatalf("C restored %+v, want B's snapshot at offset 2", got)
	}
	resolved := resolvesAfterDeleteWhilePending(t, b, d, stop, release, fired[0].AlertID)
	if resolved != 1 {
		t.Errorf("A's firing alert %s resolved %d times after the version was deleted while C's recount, restored from B's snapshot, was pending, want once: it stays open for ever",
			fired[0].AlertID, resolved)
	}
}

// firedThenRecountStored runs the first two processes both tests above share, in
// consumer group group of a new one-partition broker: A, with --no-snapshots, fires
// windowed rule bursts (resolve on) for a and stops, the incident open; B, with
// snapshots on but none stored, recounts the version from A's commit and stops with
// the recount held pending, storing snapshot S. It returns the broker, the group,
// the configuration of a process with B's state, and A's firing alert.
func firedThenRecountStored(t *testing.T, group string) (*kafkatest.Broker, string, func(*live.Config), []contract.Alert) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	stateDir := t.TempDir()
	withoutState := func(c *live.Config) { c.Group, c.NoSnapshots, c.NoBackfill = group, true, false }
	withState := func(c *live.Config) { c.Group, c.StateURL, c.NoBackfill = group, "file://"+stateDir, false }

	const js = `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
	d, stop := livetest.StartLive(t, b, withoutState)
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, js)))
	waitActive(t, d, []string{js})
	b.Produce(t, loginFailed("a", 1), loginFailed("a", 2))
	fired := alertsOn(t, b, 1)
	if fired[0].Status != contract.StatusFiring || fired[0].RuleID != "bursts" {
		t.Fatalf("first alert %+v, want bursts firing", fired[0])
	}
	waitCommitted(t, b, d, "A's events")
	stop()
	<-d.Done()

	release, restore := holdJobs(group)
	d, stop = livetest.StartLive(t, b, withState)
	poll.Until(t, wait, "B's recount pending", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Backfills == 1 && st.Partitions[0].Restored == nil
	})
	stop()
	<-d.Done()
	release()
	restore()
	return b, group, withState, fired
}

// resolvesAfterDeleteWhilePending deletes rule bursts in process d while release holds
// its restored hand-off pending, lets the job go, stops d (its stop flushes what the
// ended version's replay produced, so that every alert is on the topic) and returns how
// many resolves of alertID the alerts topic holds.
func resolvesAfterDeleteWhilePending(t *testing.T, b *kafkatest.Broker, d *live.Daemon, stop, release func(), alertID string) int {
	t.Helper()
	b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"}))
	poll.Until(t, wait, "the rule deleted in C", func() bool {
		_, ok := d.Count(rule.Key{Scope: "*", ID: "bursts"}, "")
		return !ok
	})
	release()
	poll.Until(t, wait, "C's jobs done", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Backfills == 0
	})
	stop()
	<-d.Done()
	resolved := 0
	for _, a := range alertsOn(t, b, int(b.TopicRecords(t, "alerts"))) {
		t.Logf("alert v%d %s %s group %s offset %d", a.Version, a.Status, a.AlertID, a.Group, a.Offset)
		if a.Status == contract.StatusResolved && a.AlertID == alertID {
			resolved++
		}
	}
	return resolved
}
