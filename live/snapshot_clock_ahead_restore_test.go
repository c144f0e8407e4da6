package live_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSnapshotOfAClockAheadIsNotRestoredOverANewerOne: processes of one group take a
// partition's snapshots in turn, each naming them by its own wall clock. A member
// whose clock was an hour ahead stored the partition's snapshot at offset 1; the
// partition then moved to a member with a right clock, which counted one more event
// (its alert sent) and stopped cleanly, storing its snapshot at offset 2. The next
// start must restore the latest state (offset 2): nothing counted twice after a clean
// stop. Ranked by the write time in the name, the snapshot of the clock ahead wins,
// the event at offset 1 is handled again and its alert sent a second time.
func TestSnapshotOfAClockAheadIsNotRestoredOverANewerOne(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := t.TempDir()
	conf := func(c *live.Config) {
		c.Group, c.StateURL = "clock-ahead", "file://"+state
	}
	r := livetest.ParseRule(t, `{"id":"two","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":2}`)
	x := `{"type":"x"}`

	d1, stop1 := livetest.StartLive(t, b, conf)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d1, r.Key(), 1)
	b.Produce(t, ev("c-1", x))
	waitSeen(t, d1, 1)
	stop1()
	<-d1.Done()

	// The newest snapshot as a member whose clock is an hour ahead names it.
	snaps := snapshotFiles(t, state)
	newest := snaps[len(snaps)-1]
	dir, base := filepath.Split(newest)
	next, at, _ := strings.Cut(strings.TrimSuffix(base, ".snap"), "-")
	ns, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		t.Fatalf("snapshot name %s: %v", base, err)
	}
	ahead := filepath.Join(dir, fmt.Sprintf("%s-%020d.snap", next, ns+time.Hour.Nanoseconds()))
	if err := os.Rename(newest, ahead); err != nil {
		t.Fatal(err)
	}

	d2, stop2 := livetest.StartLive(t, b, conf)
	waitRule(t, d2, r.Key(), 1)
	b.Produce(t, ev("c-1", x))
	waitSeen(t, d2, 1)
	alertsOn(t, b, 1)
	stop2()
	<-d2.Done()

	d3, stop3 := livetest.StartLive(t, b, conf)
	waitRule(t, d3, r.Key(), 1)
	b.Produce(t, ev("c-2", x))
	poll.Until(t, wait, "c-2's event counted", func() bool { return count(t, d3, r.Key(), "c-2") == 1 })
	if n := d3.EventsSeen(); n != 1 {
		t.Errorf("the restarted daemon handled %d events, want 1 (only the new one)", n)
	}
	if n := count(t, d3, r.Key(), "c-1"); n != 2 {
		t.Errorf("c-1's count after the restart is %d, want 2", n)
	}
	stop3() // delivers the alerts of what it handled
	<-d3.Done()
	if n := b.TopicRecords(t, "alerts"); n != 1 {
		t.Errorf("alerts topic holds %d records after a clean restart, want 1 (c-1's alert sent again)", n)
	}
}

func snapshotFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".snap") {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("snapshots under %s: %v (%d found)", root, err, len(out))
	}
	slices.Sort(out)
	return out
}
