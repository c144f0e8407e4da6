package live_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSnapshotsRefusedForSizeArePrunedByTheRestartThatRefusedThem: a daemon counted
// 30 customers 4 times each and stored its snapshots (valid, a few KiB); restarted
// with --max-snapshot-bytes lowered below them (--no-backfill), the restore refuses
// every one for its size, telling the operator to "restore it with that limit". The
// partition had started empty, its counts lacking the history, stored its own small
// snapshots and pruned the refused ones by rank: after three, a restart with the
// original limit restored the empty state, the 4 logins of each customer lost for
// good, though nothing was wrong with them but a flag. Keeping the refused snapshots
// from prune would not have saved them: the restart's own, newer, rank first. So the
// partition is held instead: /readyz is not ready, naming the limit that restores it
// (the largest size the refused snapshots claim), nothing is evaluated, stored or
// committed, and the restart with the original limit restores the counts and counts
// the events that came meanwhile (the oracle over all events).
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
		recs := make([]*kgo.Record, 0, customers) // one client a round, not one an event
		for i := range customers {
			recs = append(recs, livetest.Event(cust(i), `{"type":"login"}`))
			produced++
		}
		b.Produce(t, recs...)
		poll.Until(t, 20*time.Second, fmt.Sprintf("a snapshot at offset %d", produced), snapAt(a, produced))
	}
	if v, _ := a.Count(r.Key(), cust(0)); v.Count != rounds {
		t.Fatalf("first run counted %d logins of %s, want %d", v.Count, cust(0), rounds)
	}
	// The prune after the last snapshot runs beside the events; a stop cancels it
	// ("pruning old snapshots … context canceled" under the race detector, 4 left), and
	// only the next run's prune would finish it.
	var refused []string
	poll.Until(t, 20*time.Second, "the snapshots pruned to the 3 kept", func() bool {
		refused, _ = filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap"))
		return len(refused) == 3
	})
	stop()
	<-a.Done()
	if got, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap")); !slices.Equal(got, refused) {
		t.Fatalf("want the 3 kept snapshots %v after the stop, have %v", refused, got)
	}
	for _, f := range refused {
		if fi, err := os.Stat(f); err != nil || fi.Size() < 100 {
			t.Fatalf("snapshot %s: %v %v", f, fi, err)
		}
	}

	var needed int64
	for _, f := range refused {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n, err := s2.DecodedLen(data[8 : len(data)-4])
		if err != nil {
			t.Fatal(err)
		}
		needed = max(needed, int64(n))
	}
	if needed <= lowered {
		t.Fatalf("the snapshots' bodies are at most %d bytes, not above the lowered limit %d", needed, lowered)
	}

	second, stop := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.SnapshotInterval, c.MaxSnapshotBytes = group, "file://"+state, 100*time.Millisecond, lowered
	})
	var lastErr string
	var rd contract.Readiness
	poll.Until(t, 20*time.Second, "the partition held", func() bool {
		st := second.State()
		if len(st.Partitions) != 1 || st.Partitions[0].LastError == "" {
			return false
		}
		lastErr = st.Partitions[0].LastError
		rd = contract.Readiness{}
		livetest.GetJSON(t, "http://"+second.HTTPAddr()+"/readyz", &rd)
		return !rd.Ready
	})
	t.Logf("second run's last_error: %s", lastErr)
	if !strings.Contains(lastErr, "restore it with that limit") {
		t.Fatalf("the restore under --max-snapshot-bytes %d did not refuse the snapshots for their size: last_error %q", lowered, lastErr)
	}
	if want := fmt.Sprintf("restart with --max-snapshot-bytes of at least %d", needed); len(rd.Reasons) != 1 || !strings.Contains(rd.Reasons[0], want) {
		t.Errorf("/readyz's reasons %q do not say %q", rd.Reasons, want)
	}
	if st := second.State(); st.Partitions[0].LastSnapshot != nil || st.Partitions[0].Restored != nil {
		t.Errorf("the held partition restored %+v, stored %+v", st.Partitions[0].Restored, st.Partitions[0].LastSnapshot)
	}
	for range 3 {
		b.Produce(t, livetest.Event("b", `{"type":"login"}`))
	}
	stop()
	<-second.Done()
	if err := second.Wait(); err != nil {
		t.Errorf("the held partition's stop: %v", err)
	}
	after, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap"))
	if !slices.Equal(after, refused) {
		t.Errorf("the restart under --max-snapshot-bytes %d refused the snapshots %v for their size, and the store holds %v after it", lowered, refused, after)
	}

	third, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
	poll.Until(t, 20*time.Second, "the partition restored and the 3 logins of b counted", func() bool {
		st := third.State()
		v, _ := third.Count(r.Key(), "b")
		return len(st.Partitions) == 1 && st.Partitions[0].Restored != nil && v.Count == 3
	})
	if v, _ := third.Count(r.Key(), cust(0)); v.Count != rounds {
		t.Errorf("restarted with the original limit, as the refusal advised: %s has %d logins, want %d (the oracle over all events)", cust(0), v.Count, rounds)
	}
}
