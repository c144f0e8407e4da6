package live_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestCorruptNewestSnapshotSkippedIsVisible: the newest snapshot of a partition is
// damaged on disk (one byte flipped in the middle); the restore skips it for the older
// one, resumes below the damaged one's offset and evaluates those events again, sending
// their alerts and dead letters a second time. The damage is only a log line: /v1/state's
// last_error is empty and no counter in /metrics moves (restore_failures_total stays 0),
// so a store that is rotting is seen by nobody until every copy is gone.
func TestCorruptNewestSnapshotSkippedIsVisible(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	state := t.TempDir()
	group := "corrupt-newest"
	for i := range 2 { // two runs: a snapshot at offset 1, then one at offset 2
		b.Produce(t, livetest.Event("a", `{"type":"login"}`))
		d, stop := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
		poll.Until(t, 20*time.Second, "the run's event counted", func() bool {
			v, _ := d.Count(r.Key(), "a")
			return v.Count == int64(i+1)
		})
		stop()
		<-d.Done()
	}
	snaps, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap"))
	sort.Strings(snaps) // by offset: the newest is last
	if len(snaps) < 2 {
		t.Fatalf("want two snapshots, have %v", snaps)
	}
	newest := snaps[len(snaps)-1]
	data, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(newest, data, 0o644); err != nil {
		t.Fatal(err)
	}

	third, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
	var key, lastErr string
	poll.Until(t, 20*time.Second, "the partition restored", func() bool {
		st := third.State()
		if len(st.Partitions) != 1 || st.Partitions[0].Restored == nil {
			return false
		}
		key, lastErr = st.Partitions[0].Restored.Key, st.Partitions[0].LastError
		return true
	})
	if strings.HasSuffix(newest, filepath.FromSlash(key)) {
		t.Fatalf("the damaged snapshot %s was restored", key)
	}
	metrics := livetest.GetText(t, "http://"+third.HTTPAddr()+"/metrics")
	failures := metricLine(metrics, "hindsight_snapshot_restore_failures_total")
	if lastErr == "" && strings.HasSuffix(failures, " 0") {
		t.Errorf("the newest snapshot %s failed its checksum and %s was restored in its place, yet /v1/state's last_error is empty and /metrics says %q: the damage is visible only in the log",
			filepath.Base(newest), filepath.Base(key), failures)
	}
}
