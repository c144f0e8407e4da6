package live_test

import (
	"context"
	"fmt"
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
	// Every daemon has stopped: each waited for its replays (no job running) before its
	// stop, and a stop flushes whatever they produced, so any record too many is in.
	if n := b.TopicRecords(t, "alerts"); n != 0 {
		for _, a := range alertsOn(t, b, int(n)) {
			t.Logf("alert %s v%d %s %s group %s offset %d", a.RuleID, a.Version, a.Status, a.AlertID, a.Group, a.Offset)
		}
		t.Errorf("%d alert records of a rule deleted before any event, want none", n)
	}
}

// TestKilledBeforeTheFirstControlsSnapshotIsResolved: a daemon starts on a controls
// topic that holds nothing before a windowed rule with resolve (subtest "empty") or an
// unrelated rule ("one before"). Its partition's initial snapshot is stored; the rule is
// made, adopted, and fires; the process is then killed before its next snapshot (the
// state store is put back as it was, the initial snapshot newest). The rule is deleted
// while no process runs. The restarted daemon restores the initial snapshot, which does
// not name the rule: the rule's firing alert must be resolved, by the replay of the
// version a later control ended (EndedAfter the snapshot's controls), whatever offset
// the last control before the snapshot had, or none.
func TestKilledBeforeTheFirstControlsSnapshotIsResolved(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		before bool
	}{{"empty", false}, {"one before", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			state := t.TempDir()
			lake := "file://" + t.TempDir()
			conf := func(c *live.Config) {
				c.Group, c.StateURL, c.LakeURL = "killedfirst", "file://"+state, lake
				c.NoBackfill = false
				c.SnapshotInterval, c.MaxSnapshotAge = time.Hour, 2*time.Hour
			}
			if tc.before {
				b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"other","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"other"},"threshold":100}`)))
			}
			const js = `{"id":"bursts","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},
			  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`

			fired := firesThenKilledToInitialSnapshot(t, b, conf, state, func(d *live.Daemon) {
				b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, js)))
				waitActive(t, d, []string{js})
			})
			b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"}))

			d2, _ := livetest.StartLive(t, b, conf)
			poll.Until(t, wait, "restored", func() bool {
				st := d2.State()
				return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil
			})
			// The assertion below says what is missing; the wait is only its bound.
			poll.WithinEvery(10*time.Second, 50*time.Millisecond, func() bool { return b.TopicRecords(t, "alerts") >= 2 })
			n := b.TopicRecords(t, "alerts")
			if n != 2 {
				t.Fatalf("%d alert records, want bursts' firing and its resolve: the firing alert the killed process sent stays open", n)
			}
			if a := alertsOn(t, b, 2)[1]; a.Status != contract.StatusResolved || a.AlertID != fired.AlertID {
				t.Errorf("second alert %+v, want the resolve of %s", a, fired.AlertID)
			}
		})
	}
}

// firesThenKilledToInitialSnapshot runs a daemon of conf on b, one partition, whose
// state store is directory state, until its initial snapshot is stored; then calls
// then (nil: none), has the windowed rule bursts fire for user u (failed logins at
// seconds 1 and 2) and stops the daemon, putting the store back as it was at that
// snapshot: as if the process was killed before its next one. It returns the firing
// alert.
func firesThenKilledToInitialSnapshot(t *testing.T, b *kafkatest.Broker, conf func(*live.Config), state string, then func(d *live.Daemon)) contract.Alert {
	t.Helper()
	saved := filepath.Join(t.TempDir(), "saved")
	d, stop := livetest.StartLive(t, b, conf)
	poll.Until(t, wait, "the initial snapshot stored", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil
	})
	if err := os.CopyFS(saved, os.DirFS(state)); err != nil {
		t.Fatal(err)
	}
	if then != nil {
		then(d)
	}
	b.Produce(t, loginFailed("u", 1), loginFailed("u", 2)) // bursts fires for u
	fired := alertsOn(t, b, 1)
	if fired[0].Status != contract.StatusFiring || fired[0].RuleID != "bursts" {
		t.Fatalf("first alert %+v, want bursts firing", fired[0])
	}
	stop()
	<-d.Done()
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(state, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}
	return fired[0]
}

// TestMadeAndDeletedInOneFetchIsNotReplayed: as TestDeletedBeforeItsEventsIsNotReplayed,
// but the windowed rule is made and deleted while the daemon runs, both controls in one
// fetch: the active rules do not change, so no rule set is published and the
// partition's set still records the control before them. No process ever evaluates an
// event with the rule; the daemon stops cleanly, events that would have crossed it
// arrive while it is down, and the restarted daemon must send nothing.
func TestMadeAndDeletedInOneFetchIsNotReplayed(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := t.TempDir()
	lake := "file://" + t.TempDir()
	conf := func(c *live.Config) {
		c.Group, c.StateURL, c.LakeURL = "onefetch", "file://"+state, lake
		c.NoBackfill = false
	}
	// A control before: the partition's rule set records offset 0.
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"other","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"other"},"threshold":100}`)))
	const js = `{"id":"bursts","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`

	d, stop := livetest.StartLive(t, b, conf)
	poll.Until(t, wait, "the partition owned", func() bool { return len(d.State().Partitions) == 1 })
	// Made and deleted in one batch, so in one fetch of the controls reader.
	cl := b.Client(t, kgo.ProducerLinger(time.Second))
	for _, r := range []*kgo.Record{livetest.Upsert(t, livetest.ParseRule(t, js)), livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"})} {
		cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, wait, "the delete folded", func() bool { return len(d.Registry().EndedAfter(-1)) == 1 })
	b.Produce(t, loginFailed("u", 1), loginFailed("u", 2)) // would cross the deleted rule
	poll.Until(t, wait, "the events handled", func() bool { return d.EventsSeen() >= 2 })
	stop()
	<-d.Done()
	b.Produce(t, loginFailed("w", 3), loginFailed("w", 4)) // while down

	d2, stop2 := livetest.StartLive(t, b, conf)
	poll.Until(t, wait, "restored, no job running", func() bool {
		st := d2.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil && st.Partitions[0].Backfills == 0
	})
	poll.Until(t, wait, "the events handled", func() bool { return d2.EventsSeen() >= 2 })
	// A replay done (no job running) may still be handing its resolves to the producer:
	// the stop's snapshot waits for them to be queued, and the stop flushes them.
	stop2()
	<-d2.Done()
	if n := b.TopicRecords(t, "alerts"); n != 0 {
		for _, a := range alertsOn(t, b, int(n)) {
			t.Logf("alert %s v%d %s %s group %s offset %d", a.RuleID, a.Version, a.Status, a.AlertID, a.Group, a.Offset)
		}
		t.Errorf("%d alert records of a rule made and deleted before any event, want none", n)
	}
}
