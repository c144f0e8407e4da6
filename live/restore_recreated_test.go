package live_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSnapshotOfARecreatedLogIsNotRestored: the events topic is recreated (or the
// deployment moved to a new cluster) while the daemon is down, and the new log grows
// past the offset of the old log's last snapshot before the daemon starts again. That
// snapshot lies inside the new log's bounds, but it counts another log's events: the
// daemon must not restore it (the old log's customer keeps its count, and the new
// log's events below its offset are never counted).
func TestSnapshotOfARecreatedLogIsNotRestored(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	cfg := func(c *live.Config) {
		c.Group, c.StateURL = "recreated-log", "file://"+stateDir
		c.SnapshotInterval = 100 * time.Millisecond
	}

	// The old log: 30 logins of customer "old", snapshotted at its end.
	old := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	old.Produce(t, livetest.Upsert(t, r))
	var recs []*kgo.Record
	for range 30 {
		recs = append(recs, livetest.Event("old", `{"type":"login"}`))
	}
	old.Produce(t, recs...)
	d1, stop1 := livetest.StartLive(t, old, cfg)
	poll.Until(t, 20*time.Second, "a snapshot of the old log at its end", func() bool {
		st := d1.State()
		return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil && st.Partitions[0].LastSnapshot.Offset == 30
	})
	stop1()
	<-d1.Done()
	old.Close()

	// The new log (same rule, same control offset), 35 logins of "a", all produced
	// while the daemon is down: it ends past the old snapshot's offset.
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.Produce(t, livetest.Upsert(t, r))
	var history []*kgo.Record
	recs = nil
	for range 35 {
		recs = append(recs, livetest.Event("a", `{"type":"login"}`))
	}
	history = append(history, b.Produce(t, recs...)...)

	d2, _ := livetest.StartLive(t, b, cfg)
	poll.Until(t, 20*time.Second, "the new log counted to its end", func() bool {
		st := d2.State()
		return len(st.Partitions) == 1 && st.Partitions[0].NextOffset == 35
	})
	want := livetest.FullReplay(history, r)
	for _, c := range []string{"a", "old"} {
		if v, _ := d2.Count(r.Key(), c); v.Count != want[c] {
			t.Errorf("customer %q: count %d, a full replay of the new log says %d (restored from %+v)",
				c, v.Count, want[c], d2.State().Partitions[0].Restored)
		}
	}
}
