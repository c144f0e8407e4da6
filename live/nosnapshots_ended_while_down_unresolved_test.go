package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestNoSnapshotsVersionEndedWhileDownResolves: with --no-snapshots, a windowed rule with
// resolve fires and the daemon stops cleanly, its incident open. While it is down the
// rule is deleted, or replaced by a version 2 that only changes its description. The
// restarted daemon must resolve version 1's firing alert, as it does when it restores a
// snapshot (TestVersionEndedWhileDownResolvesOnRestore) and as a version ended while the
// daemon runs does (TestEndedVersionResolvesItsIncidents): the firing alert otherwise
// stays open at every receiver for a rule version that no longer runs. The same holds
// with snapshots kept, when the restarted daemon's store holds none of the first's
// ("another store": --state changed, or the store emptied while down).
func TestNoSnapshotsVersionEndedWhileDownResolves(t *testing.T) {
	t.Parallel()
	const js = `{"id":"bursts","scope":"*","version":%d,"description":%q,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, b *kafkatest.Broker)
	}{
		{"deleted", func(t *testing.T, b *kafkatest.Broker) {
			b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"}))
		}},
		{"description edited", func(t *testing.T, b *kafkatest.Broker) {
			b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, fmt.Sprintf(js, 2, "edited"))))
		}},
	} {
		for _, store := range []string{"no snapshots", "another store"} {
			t.Run(tc.name+"/"+store, func(t *testing.T) {
				t.Parallel()
				noSnapshotsVersionEndedWhileDown(t, js, tc.edit, store == "another store")
			})
		}
	}
}

// noSnapshotsVersionEndedWhileDown runs one case of TestNoSnapshotsVersionEndedWhileDownResolves;
// anotherStore: the daemons keep snapshots, the restarted one in a store that holds none
// of the first's (--state changed or the store emptied while down), not --no-snapshots.
func noSnapshotsVersionEndedWhileDown(t *testing.T, js string, edit func(t *testing.T, b *kafkatest.Broker), anotherStore bool) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	conf := func(c *live.Config) {
		c.Group, c.NoSnapshots, c.NoBackfill = "nosnap-ended", !anotherStore, false
		if anotherStore {
			c.StateURL = "file://" + t.TempDir()
		}
	}
	d, stop := livetest.StartLive(t, b, conf)
	v1 := fmt.Sprintf(js, 1, "first")
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, v1)))
	waitActive(t, d, []string{v1})
	b.Produce(t, loginFailed("a", 1), loginFailed("a", 2)) // version 1 fires for a
	fired := alertsOn(t, b, 1)
	if fired[0].Status != contract.StatusFiring || fired[0].Version != 1 {
		t.Fatalf("first alert %+v: want version 1 firing", fired[0])
	}
	waitCommitted(t, b, d, "the first events")
	stop()
	<-d.Done() // version 1's incident for a is open

	edit(t, b)
	d, _ = livetest.StartLive(t, b, conf)
	b.Produce(t, loginFailed("z", 3)) // the restarted daemon evaluates past the edit
	waitCommitted(t, b, d, "every event")
	poll.Until(t, wait, "no hand-off or replay pending", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Backfills == 0
	})
	// A bounded wait for the resolve; the count of resolves below says what went wrong
	// when none comes. Each ask is a request to the broker: every 50ms, not 10ms.
	poll.WithinEvery(10*time.Second, 50*time.Millisecond, func() bool { return b.TopicRecords(t, "alerts") >= 2 })
	alerts := alertsOn(t, b, int(b.TopicRecords(t, "alerts")))
	resolved := 0
	for _, a := range alerts {
		t.Logf("alert v%d %s %s offset %d", a.Version, a.Status, a.AlertID, a.Offset)
		if a.Status == contract.StatusResolved && a.AlertID == fired[0].AlertID {
			resolved++
		}
	}
	if resolved != 1 {
		t.Errorf("version 1's firing alert %s resolved %d times after it ended while the daemon was down (no snapshot restored), want once: it stays open for ever",
			fired[0].AlertID, resolved)
	}
}
