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
)

// TestEditDuringRecountResolvesEarlierFiring: with --no-snapshots, version 1 of a
// windowed rule with resolve fires for a and the daemon stops, the incident open. The
// restarted daemon recounts version 1 by hand-off (a recount: it resolves what its
// history closes, TestNoSnapshotsRestartResolvesFiringAlert). Version 1 is replaced by a
// version 2 that only changes its description while that recount is still pending. Had
// the recount finished, version 1's state would hold a's incident and its end would
// resolve it (TestEndedVersionResolvesItsIncidents); ending while it is pending, the
// replay of the ended version must resolve it as well: one verdict whatever the timing.
func TestEditDuringRecountResolvesEarlierFiring(t *testing.T) {
	t.Parallel()
	for _, pending := range []bool{false, true} {
		t.Run(fmt.Sprintf("recount pending=%v", pending), func(t *testing.T) { editDuringRecount(t, pending) })
	}
}

func editDuringRecount(t *testing.T, pending bool) {
	group := fmt.Sprintf("recount-edit-%v", pending)
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	conf := func(c *live.Config) { c.Group, c.NoSnapshots, c.NoBackfill = group, true, false }
	const js = `{"id":"bursts","scope":"*","version":%d,"description":%q,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
	v1 := fmt.Sprintf(js, 1, "first")
	d, stop := livetest.StartLive(t, b, conf)
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, v1)))
	waitActive(t, d, []string{v1})
	b.Produce(t, loginFailed("a", 1), loginFailed("a", 2)) // version 1 fires for a
	fired := alertsOn(t, b, 1)
	if fired[0].Status != contract.StatusFiring || fired[0].Version != 1 {
		t.Fatalf("first alert %+v: want version 1 firing", fired[0])
	}
	waitCommitted(t, b, d, "the first events")
	stop()
	<-d.Done() // a's incident is open

	release := func() {}
	if pending {
		var restore func()
		release, restore = holdJobs(group)
		defer restore()
		defer release()
	}
	d, _ = livetest.StartLive(t, b, conf)
	poll.Until(t, wait, "version 1's recount pending (or done)", func() bool {
		st := d.State()
		want := 0
		if pending {
			want = 1
		}
		return len(st.Partitions) == 1 && st.Partitions[0].Backfills == want && len(d.Rules()) == 1 && (pending || d.Rules()[0].Status == contract.RuleLive)
	})
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, fmt.Sprintf(js, 2, "edited"))))
	poll.Until(t, wait, "version 2 active", func() bool {
		for _, v := range d.Rules() {
			if v.ID == "bursts" && v.Version == 2 {
				return true
			}
		}
		return false
	})
	release()
	poll.Until(t, wait, "no hand-off or replay pending", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Backfills == 0
	})
	// A bound for the resolve: the count below says what came.
	poll.Within(10*time.Second, func() bool { return b.TopicRecords(t, "alerts") >= 2 })
	resolved := 0
	for _, a := range alertsOn(t, b, int(b.TopicRecords(t, "alerts"))) {
		t.Logf("alert v%d %s %s offset %d", a.Version, a.Status, a.AlertID, a.Offset)
		if a.Status == contract.StatusResolved && a.AlertID == fired[0].AlertID {
			resolved++
		}
	}
	if resolved != 1 {
		t.Errorf("version 1's firing alert %s resolved %d times after version 1 ended during its recount, want once: it stays open for ever",
			fired[0].AlertID, resolved)
	}
}
