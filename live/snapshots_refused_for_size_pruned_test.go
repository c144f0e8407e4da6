package live_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSnapshotsRefusedForSizeArePrunedByTheRestartThatRefusedThem: a daemon counted
// 30 customers 4 times each and stored its snapshots (valid, a few KiB); restarted
// with --max-snapshot-bytes lowered below them (--no-backfill), the restore refuses
// every one for its size, telling the operator to "restore it with that limit", and
// the partition starts empty, its counts lacking the history. That restart then stores
// its own small snapshots and prunes the refused ones as it would damaged ones: after
// three, the snapshots the error told the operator to restore are deleted, and a
// restart with the original limit restores the empty state: the 4 logins of each
// customer are lost for good, though nothing was wrong with them but a flag.
func TestSnapshotsRefusedForSizeArePrunedByTheRestartThatRefusedThem(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	state := t.TempDir()
	group := "refused-for-size-pruned"
	cust := func(i int) string {
		return fmt.Sprintf("customer-with-a-rather-long-identifier-%03d-%s", i, strings.Repeat("x", 20))
	}
	const customers, rounds, lowered = 30, 4, 600

	snapAt := func(d *live.Daemon, off int64) func() bool {
		return func() bool {
			st := d.State()
			return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil && st.Partitions[0].LastSnapshot.Offset == off
		}
	}
	a, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.SnapshotInterval = group, "file://"+state, 100*time.Millisecond
	})
	var produced int64
	for range rounds {
		for i := range customers {
			b.Produce(t, livetest.Event(cust(i), `{"type":"login"}`))
			produced++
		}
		poll.Until(t, 20*time.Second, fmt.Sprintf("a snapshot at offset %d", produced), snapAt(a, produced))
	}
	if v, _ := a.Count(r.Key(), cust(0)); v.Count != rounds {
		t.Fatalf("first run counted %d logins of %s, want %d", v.Count, cust(0), rounds)
	}
	stop()
	<-a.Done()
	refused, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap"))
	if len(refused) != 3 {
		t.Fatalf("want the 3 kept snapshots, have %v", refused)
	}
	for _, f := range refused {
		if fi, err := os.Stat(f); err != nil || fi.Size() < 100 {
			t.Fatalf("snapshot %s: %v %v", f, fi, err)
		}
	}

	second, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.SnapshotInterval, c.MaxSnapshotBytes = group, "file://"+state, 100*time.Millisecond, lowered
	})
	var lastErr string
	poll.Until(t, 20*time.Second, "the partition started", func() bool {
		st := second.State()
		if len(st.Partitions) != 1 || st.Partitions[0].LastSnapshot == nil {
			return false
		}
		if lastErr == "" {
			lastErr = st.Partitions[0].LastError
		}
		return true
	})
	t.Logf("second run's last_error: %s", lastErr)
	if !strings.Contains(lastErr, "restore it with that limit") {
		t.Fatalf("the restore under --max-snapshot-bytes %d did not refuse the snapshots for their size: last_error %q", lowered, lastErr)
	}
	for range 3 {
		b.Produce(t, livetest.Event("b", `{"type":"login"}`))
		produced++
		poll.Until(t, 20*time.Second, fmt.Sprintf("a snapshot at offset %d", produced), snapAt(second, produced))
	}
	stop()
	<-second.Done()
	var gone []string
	for _, f := range refused {
		if _, err := os.Stat(f); err != nil {
			gone = append(gone, filepath.Base(f))
		}
	}
	if len(gone) > 0 {
		t.Errorf("the restart under --max-snapshot-bytes %d refused %d valid snapshots for their size, telling to restore them with the larger limit, then deleted %d of them: %v",
			lowered, len(refused), len(gone), gone)
	}

	third, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
	poll.Until(t, 20*time.Second, "the partition restored", func() bool {
		st := third.State()
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil
	})
	if v, _ := third.Count(r.Key(), cust(0)); v.Count != rounds {
		t.Errorf("restarted with the original limit, as the refusal advised: %s has %d logins, want %d (the oracle over all events)", cust(0), v.Count, rounds)
	}
}
