package live_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSeededPartitionCommitsOnceItsOwnStoreHoldsASnapshot: docs/architecture.md,
// "The hand-off": a partition's offsets are not committed until a snapshot of it is
// stored, so that "a restart resumes from a snapshot, with the same rule starts, never
// from a committed offset with empty state". A partition seeded by --restore-from has
// a snapshot only in that other bucket: its state store (--state) holds none until the
// first snapshot it stores there, and its offsets must not be committed before it (a
// hunt found them committed at once). Killed and restarted on its own state store (the
// seed was a one-off migration; the flag is gone), the daemon must not resume at a
// committed offset with empty counters: without backfill nothing would say so, the
// counts short and the rule "live".
func TestSeededPartitionCommitsOnceItsOwnStoreHoldsASnapshot(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	var history []*kgo.Record
	produce := func(n int) {
		var recs []*kgo.Record
		for i := range n {
			recs = append(recs, livetest.Event([]string{"a", "b", "c"}[i%3], `{"type":"login"}`))
		}
		history = append(history, b.Produce(t, recs...)...)
	}
	produce(30)
	old, fresh := t.TempDir(), t.TempDir()
	group := livetest.Group(t)
	first, stop := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+old })
	poll.Until(t, 20*time.Second, "the old deployment to count every event", func() bool { return first.EventsSeen() == 30 })
	stop() // its shutdown snapshot: the seed
	<-first.Done()

	saved := filepath.Join(t.TempDir(), "saved")
	second, stop2 := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.RestoreFrom = group, "file://"+fresh, "file://"+old
		c.SnapshotInterval, c.MaxSnapshotAge = time.Hour, 2*time.Hour
	})
	produce(30)
	waitCommitted(t, b, second, "the seeded daemon's events")
	// Killed: its own store holds what it holds now.
	if err := os.CopyFS(saved, os.DirFS(fresh)); err != nil {
		t.Fatal(err)
	}
	stop2()
	<-second.Done()
	if err := os.RemoveAll(fresh); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(fresh, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}
	m, _ := filepath.Glob(filepath.Join(fresh, "state", "*", "*", "*", "*.snap"))
	t.Logf("snapshots in the daemon's own store at the kill: %d", len(m))

	third, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL = group, "file://"+fresh
	})
	produce(3)
	poll.Until(t, 20*time.Second, "the restarted daemon to read the new events", func() bool { return third.EventsSeen() >= 3 })
	waitCommitted(t, b, third, "every event")
	want := livetest.FullReplay(history, r)
	for _, c := range []string{"a", "b", "c"} {
		v, _ := third.Count(r.Key(), c)
		if v.Count != want[c] && v.Status == "live" {
			t.Errorf("customer %s: count %d with status %q, oracle %d: restarted at a committed offset with empty state, and nothing says the history is missing", c, v.Count, v.Status, want[c])
		}
	}
	for _, v := range third.Rules() {
		t.Logf("rule %s: status %s incomplete %v", v.ID, v.Status, v.Incomplete)
	}
}
