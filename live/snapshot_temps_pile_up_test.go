package live_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestStaleSnapshotTempsAreRemoved: a daemon killed while it wrote a snapshot to a
// file:// state store leaves "<name>.snap.<hex>.tmp" next to the snapshots (putFile).
// The state store's own writer never removes them: a daemon that restores the
// partition and stores and prunes many snapshots after it leaves a day-old temporary
// in place, and every kill -9 mid-write adds one more, for good.
func TestStaleSnapshotTempsAreRemoved(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	state := t.TempDir()
	group := "stale-temps"
	first, stop := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
	poll.Until(t, 20*time.Second, "the first event counted", func() bool { return first.EventsSeen() == 1 })
	stop()
	<-first.Done()
	snaps, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap"))
	if len(snaps) == 0 {
		t.Fatal("no snapshot at shutdown")
	}
	// What a kill -9 in the middle of a Put leaves: the temporary, named as putFile
	// names it, a day old.
	tmp := snaps[len(snaps)-1] + "." + strconv.FormatInt(time.Now().Add(-24*time.Hour).UnixNano(), 16) + ".tmp"
	if err := os.WriteFile(tmp, []byte("HSPS half a snapshot"), 0o644); err != nil {
		t.Fatal(err)
	}
	day := time.Now().Add(-24 * time.Hour)
	if err := os.Chtimes(tmp, day, day); err != nil {
		t.Fatal(err)
	}

	second, stop2 := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL = group, "file://"+state
		c.SnapshotInterval = 50 * time.Millisecond
	})
	// Many snapshots stored and pruned by the restarted owner of the partition.
	for i := range 8 {
		b.Produce(t, livetest.Event("a", `{"type":"login"}`))
		want := int64(2 + i)
		poll.Until(t, 20*time.Second, "a snapshot of the new event stored", func() bool {
			st := second.State()
			return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil && st.Partitions[0].LastSnapshot.Offset >= want
		})
	}
	stop2()
	<-second.Done()
	left, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.tmp"))
	if len(left) > 0 {
		t.Errorf("a day-old temporary of a snapshot write cut short is still in the state store after its partition stored and pruned 8 snapshots: %v", left)
	}
}
