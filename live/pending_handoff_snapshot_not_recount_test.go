package live_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// storePendingHandoff runs process B of the tests below: with snapshots on and no rule,
// it counts z's two failed logins (offsets 0 and 1, an incident of the rule to come,
// which no one fires: history's alerts are held back), then the windowed rule is made
// active there, an ordinary hand-off (not a recount: B's partition had adopted a set),
// its job held, and the events after (after) are buffered. B stops with the hand-off
// pending, storing snapshot S. It returns the broker, the configuration and S's offset.
func storePendingHandoff(t *testing.T, group string, after ...int) (*kafkatest.Broker, func(*live.Config), int64) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	stateDir := t.TempDir()
	conf := func(c *live.Config) { c.Group, c.StateURL, c.NoBackfill = group, "file://"+stateDir, false }
	const js = `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
	release, restore := holdJobs(group)
	defer restore()
	defer release()
	d, stop := livetest.StartLive(t, b, conf)
	b.Produce(t, loginFailed("z", 1), loginFailed("z", 2))
	waitSeen(t, d, 2)
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, js)))
	waitActive(t, d, []string{js})
	poll.Until(t, wait, "B's hand-off pending", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Backfills == 1
	})
	for i, sec := range after {
		b.Produce(t, loginFailed("y", sec))
		waitSeen(t, d, int64(3+i))
	}
	stop()
	<-d.Done()
	return b, conf, int64(2 + len(after))
}

// restoreAndStop runs process C: it restores B's snapshot, waits for its jobs to be
// done, and stops, so that every alert it sends is on the topic; it returns them.
func restoreAndStop(t *testing.T, b *kafkatest.Broker, conf func(*live.Config), offset int64) []contract.Alert {
	t.Helper()
	d, stop := livetest.StartLive(t, b, conf)
	poll.Until(t, wait, "C restored S, no job running", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil && st.Partitions[0].Backfills == 0
	})
	if got := d.State().Partitions[0].Restored; got.Offset != offset {
		t.Fatalf("C restored %+v, want B's snapshot at offset %d", got, offset)
	}
	stop()
	<-d.Done()
	alerts := alertsOn(t, b, int(b.TopicRecords(t, "alerts")))
	for _, a := range alerts {
		t.Logf("alert v%d %s %s group %s offset %d", a.Version, a.Status, a.AlertID, a.Group, a.Offset)
	}
	return alerts
}

// TestPendingHandoffEndedAfterSnapshotResolvesNothingNeverFired: B stores S with an
// ordinary hand-off of a windowed version pending (not a recount), the version is
// deleted while no process runs, and C restores S. The ended version's replay resolves
// what a process may have fired of it from its start; z's incident, opened below the
// start in history whose alerts are held back, was fired by no one, and a resolve of it
// is one the receivers never saw fire. (A recount's replay resolves from the log's
// start: TestPendingRecountEndedAfterSnapshotResolvesEarlierFiring.)
func TestPendingHandoffEndedAfterSnapshotResolvesNothingNeverFired(t *testing.T) {
	if testing.Short() {
		t.Skip("three daemons and a held hand-off: make test runs it")
	}
	t.Parallel()
	b, conf, offset := storePendingHandoff(t, "pending-handoff-ended")
	b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"}))
	if alerts := restoreAndStop(t, b, conf, offset); len(alerts) != 0 {
		t.Errorf("C sent %d alerts (first %s %s) replaying the deleted version whose ordinary hand-off S held pending, want none: no one fired z's incident, opened below the version's start",
			len(alerts), alerts[0].Status, alerts[0].AlertID)
	}
}

// TestPendingHandoffRestoredSendsNoResolveNeverFired: as above, but the version stays
// active, and an event of y an hour and more later (its suppress: 1h), after its
// activation (buffered in B), closes z's incident. C restores S and finishes the hand-off: z's incident, opened in history
// whose alerts are held back, was never fired, and its close is no resolve to send.
func TestPendingHandoffRestoredSendsNoResolveNeverFired(t *testing.T) {
	if testing.Short() {
		t.Skip("two daemons and a held hand-off: make test runs it")
	}
	t.Parallel()
	b, conf, offset := storePendingHandoff(t, "pending-handoff-restored", 3700)
	for _, a := range restoreAndStop(t, b, conf, offset) {
		if a.Status == contract.StatusResolved {
			t.Errorf("C sent a resolve of %s (group %s, offset %d) finishing the ordinary hand-off S held pending: no one fired it, its incident opened in history",
				a.AlertID, a.Group, a.Offset)
		}
	}
}

// TestRestoredHandoffEndedWhilePendingResolvesLaterFiring: B stores S with an ordinary
// hand-off pending (a's events buffered after the version's start); process X restores
// S, finishes the hand-off, fires for a, and is killed before its next snapshot (the
// store is put back to S). C restores S, its hand-off held, and the rule is deleted
// while it is pending: the firing X sent from the version's start stays open unless the
// ended version is replayed, as it is for a restored recount (replayEndedIfOwed).
func TestRestoredHandoffEndedWhilePendingResolvesLaterFiring(t *testing.T) {
	if testing.Short() {
		t.Skip("three daemons and held hand-offs: make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	stateDir := t.TempDir()
	saved := filepath.Join(t.TempDir(), "saved")
	const group = "restored-handoff-ended-pending"
	conf := func(c *live.Config) { c.Group, c.StateURL, c.NoBackfill = group, "file://"+stateDir, false }
	const js = `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`

	// B: the ordinary hand-off pending when S is stored.
	release, restore := holdJobs(group)
	d, stop := livetest.StartLive(t, b, conf)
	b.Produce(t, loginFailed("z", 0)) // history: the hand-off has a job
	waitSeen(t, d, 1)
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, js)))
	waitActive(t, d, []string{js})
	b.Produce(t, loginFailed("a", 1), loginFailed("a", 2)) // after activation: buffered
	waitSeen(t, d, 3)
	stop()
	<-d.Done()
	release()
	restore()
	if err := os.CopyFS(saved, os.DirFS(stateDir)); err != nil {
		t.Fatal(err)
	}

	// X: restores S, finishes the hand-off, fires for a; killed before its next snapshot.
	d, stop = livetest.StartLive(t, b, conf)
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

	// C: restores S, its hand-off held; the rule is deleted while it is pending.
	release, restore = holdJobs(group)
	defer restore()
	defer release()
	d, stop = livetest.StartLive(t, b, conf)
	poll.Until(t, wait, "C restored S, its hand-off pending", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil && st.Partitions[0].Backfills == 1
	})
	resolved := resolvesAfterDeleteWhilePending(t, b, d, stop, release, fired[0].AlertID)
	if resolved != 1 {
		t.Errorf("X's firing alert %s resolved %d times after the version was deleted while C's restored hand-off was pending, want once: it stays open for ever",
			fired[0].AlertID, resolved)
	}
}
