package live_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/window"
)

// TestNoSnapshotsRestartResolvesFiringAlert: with --no-snapshots a restarted daemon
// recounts a windowed rule's history by hand-off. An alert the first process sent
// before it stopped must still be resolved when its incident closes after the restart,
// as an uninterrupted run resolves it. The recount took every incident of history for
// one whose firing alert it held back, and closed it without a resolve.
func TestNoSnapshotsRestartResolvesFiringAlert(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	conf := func(c *live.Config) { c.Group, c.NoSnapshots, c.NoBackfill = "nosnap", true, false }
	d, stop := livetest.StartLive(t, b, conf)
	const js = `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true}}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	b.Produce(t, loginFailed("a", 1), loginFailed("a", 2)) // fires for a, window [0s, 10s)
	fired := alertsOn(t, b, 1)
	waitCommitted(t, b, d, "the first events")
	stop()
	<-d.Done()

	d, _ = livetest.StartLive(t, b, conf)
	poll.Until(t, wait, "the rule live again (hand-off done)", func() bool {
		v := ruleView(t, d, r.Key())
		return v.Status == contract.RuleLive && len(v.StartOffsets) == 1
	})
	b.Produce(t, loginFailed("b", 30)) // the watermark passes a's incident (closes at 12s)
	waitCommitted(t, b, d, "every event")

	// What an uninterrupted run publishes.
	var want []string
	st := window.New(r, window.Limits{})
	doc := jsonpath.NewDocument()
	for i, rec := range []*kgo.Record{loginFailed("a", 1), loginFailed("a", 2), loginFailed("b", 30)} {
		if err := doc.Reset(rec.Value); err != nil {
			t.Fatal(err)
		}
		st.Add(&window.Event{Customer: string(rec.Key), Doc: doc, Time: time.Now(), Offset: int64(i)}, func(c window.Crossing) {
			a, _ := window.Alert(r, c, 0, int64(i), time.Now(), contract.SourceLive)
			want = append(want, fmt.Sprintf("%s %s @%d", a.Status, a.AlertID, i))
		})
	}
	var got []string
	poll.WithinEvery(10*time.Second, 50*time.Millisecond, func() bool {
		got = got[:0]
		for _, a := range alertsOn(t, b, int(b.TopicRecords(t, "alerts"))) {
			got = append(got, fmt.Sprintf("%s %s @%d", a.Status, a.AlertID, a.Offset))
		}
		return len(got) >= len(want)
	})
	if !slices.Equal(got, want) {
		t.Errorf("alerts topic after a restart without snapshots\n  %s\nan uninterrupted run\n  %s\n(first firing alert %s)",
			strings.Join(got, "\n  "), strings.Join(want, "\n  "), fired[0].AlertID)
	}
}

// TestPendingHandoffRestoredWithoutBackfill: a windowed version's hand-off is pending
// (its events buffered) when the daemon stops; it is restarted with --no-backfill,
// which finishes no hand-off. The events after the version's activation were only in
// the lost buffer: the rule must say its counts lack them (incomplete, status error).
// It said live, its counts silently short.
func TestPendingHandoffRestoredWithoutBackfill(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := "file://" + t.TempDir()
	const group = "pending-nobf"
	_, restore := holdJobs(group) // the first daemon's job never runs
	d, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.NoBackfill = group, state, false
	})
	b.Produce(t, loginFailed("z", 0)) // some history: the hand-off has a job
	waitSeen(t, d, 1)
	const js = `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"1h"},"time":"$.ts","threshold":3}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	b.Produce(t, loginFailed("a", 1), loginFailed("a", 2)) // after activation: buffered
	waitSeen(t, d, 3)
	stop()
	<-d.Done()
	restore()

	d, _ = livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.NoBackfill = group, state, true
	})
	poll.Until(t, wait, "the partition restored", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil
	})
	v := ruleView(t, d, r.Key())
	if v.Status != contract.RuleError || len(v.Incomplete) != 1 || v.Incomplete[0].From != 0 || v.Incomplete[0].To < 2 {
		t.Errorf("restored without backfill, the hand-off unfinished: status %s, incomplete %+v; want error, missing offsets 0 to at least 2 (the buffered events)", v.Status, v.Incomplete)
	}
}

// TestPendingRecountRestoredResolvesFiringAlert: as
// TestNoSnapshotsRestartResolvesFiringAlert, but the recounting process (no snapshot
// of the partition) stops with its hand-off still pending and a snapshot of it taken;
// the next process restores that snapshot and finishes the hand-off. It is still a
// recount (the first process sent the firing alert), so the incident's resolve is sent
// when it closes; the snapshot does not say it was a recount, and the restored job
// held the resolve back.
func TestPendingRecountRestoredResolvesFiringAlert(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := "file://" + t.TempDir()
	const group = "recount-pending"
	// 1. A process without snapshots fires for a.
	d, stop := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.NoSnapshots, c.NoBackfill = group, true, false })
	const js = `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true}}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	b.Produce(t, loginFailed("a", 1), loginFailed("a", 2)) // fires for a
	fired := alertsOn(t, b, 1)
	waitCommitted(t, b, d, "the first events")
	stop()
	<-d.Done()

	// 2. A process with snapshots (none yet): its hand-off recounts, and is still
	// pending when it stops; its shutdown snapshot says so.
	_, restore := holdJobs(group)
	d, stop = livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL, c.NoBackfill = group, state, false })
	poll.Until(t, wait, "the hand-off pending", func() bool {
		v := ruleView(t, d, r.Key())
		return len(v.StartOffsets) == 1
	})
	stop()
	<-d.Done()
	restore()

	// 3. A process restores that snapshot and finishes the hand-off.
	d, _ = livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL, c.NoBackfill = group, state, false })
	poll.Until(t, wait, "the partition restored", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil
	})
	poll.Until(t, wait, "the rule live (hand-off done)", func() bool {
		return ruleView(t, d, r.Key()).Status == contract.RuleLive
	})
	b.Produce(t, loginFailed("b", 30)) // closes a's incident
	waitCommitted(t, b, d, "every event")

	var got []string
	poll.WithinEvery(10*time.Second, 50*time.Millisecond, func() bool {
		got = got[:0]
		for _, a := range alertsOn(t, b, int(b.TopicRecords(t, "alerts"))) {
			got = append(got, fmt.Sprintf("%s %s", a.Status, a.AlertID))
		}
		return len(got) >= 2
	})
	want := []string{"firing " + fired[0].AlertID, "resolved " + fired[0].AlertID}
	if !slices.Equal(got, want) {
		t.Errorf("alerts topic after the pending recount was restored and finished\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
