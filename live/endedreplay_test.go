package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDeletedBeforeItsEventsIsNotReplayed: a windowed rule with resolve is made and
// deleted before any event; no process ever evaluates an event with it. The daemon
// (backfill on) runs, stops cleanly, and events that would have crossed the deleted
// rule arrive while it is down. Restarted (no kill anywhere), it sends nothing: no
// firing alert of that rule was ever sent, so no resolve may be. (The restore took
// every remembered ended version the snapshot did not name for one a killed process
// may have run after it, judging by the versions the snapshot names, which a delete
// never moves; found by a review helper. The snapshot records the last control its
// rule set folded now.)
func TestDeletedBeforeItsEventsIsNotReplayed(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := t.TempDir()
	lake := "file://" + t.TempDir()
	conf := func(c *live.Config) {
		c.Group, c.StateURL, c.LakeURL = "deletedbefore", "file://"+state, lake
		c.NoBackfill = false
	}
	const js = `{"id":"bursts","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, js)))
	b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"}))

	for run := range 3 {
		d, stop := livetest.StartLive(t, b, conf)
		poll.Until(t, wait, "the partition owned", func() bool { return len(d.State().Partitions) == 1 })
		if run > 0 {
			poll.Until(t, wait, "restored, no job running", func() bool {
				st := d.State()
				return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil && st.Partitions[0].Backfills == 0
			})
		}
		user := fmt.Sprintf("u%d", run)
		b.Produce(t, loginFailed(user, 10*run+1), loginFailed(user, 10*run+2)) // would cross the deleted rule
		poll.Until(t, wait, "the events handled", func() bool { return d.EventsSeen() >= 2 })
		stop()
		<-d.Done()
		b.Produce(t, loginFailed("w", 10*run+3), loginFailed("w", 10*run+4)) // while down
	}
	time.Sleep(300 * time.Millisecond) // a record too many would be in by now
	if n := b.TopicRecords(t, "alerts"); n != 0 {
		for _, a := range alertsOn(t, b, int(n)) {
			t.Logf("alert %s v%d %s %s group %s offset %d", a.RuleID, a.Version, a.Status, a.AlertID, a.Group, a.Offset)
		}
		t.Errorf("%d alert records of a rule deleted before any event, want none", n)
	}
}
