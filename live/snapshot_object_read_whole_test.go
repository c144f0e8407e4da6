package live_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestRestoreReadsSnapshotObjectWhole: --max-snapshot-bytes bounds a snapshot's body,
// so a sealed snapshot is at most S2's encoded bound of it plus a header and a
// checksum; the state store's get had read the object with an unbounded io.ReadAll. A
// 96 MiB object planted as a partition's newest snapshot under a limit of 1 MiB was
// read whole into memory before it was refused (bad checksum). Now it is refused
// unread past that bound, with ErrSnapshotTooLarge naming its size and the bound, and
// the older snapshot is restored, the skip counted.
func TestRestoreReadsSnapshotObjectWhole(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	state := t.TempDir()
	group := "snapshot-object-read-whole"
	const limit = 1 << 20

	d, stop := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL, c.MaxSnapshotBytes = group, "file://"+state, limit })
	poll.Until(t, 20*time.Second, "a snapshot stored", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil
	})
	stop()
	<-d.Done()
	snaps, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap"))
	sort.Strings(snaps)
	if len(snaps) == 0 {
		t.Fatal("no snapshot stored")
	}
	newest := snaps[len(snaps)-1]
	at, err := strconv.ParseInt(strings.TrimSuffix(strings.SplitN(filepath.Base(newest), "-", 2)[1], ".snap"), 10, 64)
	if err != nil {
		t.Fatalf("the name of %s: %v", newest, err)
	}
	const planted = 96 << 20
	big := filepath.Join(filepath.Dir(newest), fmt.Sprintf("00000000000000000001-%020d.snap", at+1))
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("HSPS")); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(planted); err != nil { // sparse: no disk
		t.Fatal(err)
	}
	f.Close()

	second, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL, c.MaxSnapshotBytes = group, "file://"+state, limit })
	var lastErr, restored string
	poll.Until(t, 30*time.Second, "the partition restored", func() bool {
		st := second.State()
		if len(st.Partitions) != 1 || st.Partitions[0].Restored == nil {
			return false
		}
		lastErr, restored = st.Partitions[0].LastError, st.Partitions[0].Restored.Key
		return true
	})
	t.Logf("last_error: %s", lastErr)
	if !strings.HasSuffix(restored, filepath.Base(newest)) {
		t.Errorf("restored %s, want the older snapshot %s", restored, filepath.Base(newest))
	}
	// 8 header bytes, S2's bound of 1 MiB (1 MiB, 4 bytes of length, 4 of literal
	// header), 4 checksum bytes.
	const bound = 8 + limit + 4 + 4 + 4
	for _, want := range []string{live.ErrSnapshotTooLarge.Error(), fmt.Sprintf("the object is %d bytes, above the %d", planted, bound)} {
		if !strings.Contains(lastErr, want) {
			t.Errorf("the planted %d-byte object was not refused for its size unread: last_error %q does not say %q", planted, lastErr, want)
		}
	}
	metrics := livetest.GetText(t, "http://"+second.HTTPAddr()+"/metrics")
	for _, m := range []string{`hindsight_limit_reached_total{name="max_snapshot_bytes"} 1`, "hindsight_snapshot_skipped_total 1"} {
		if l := metricLine(metrics, strings.Fields(m)[0]); l != m {
			t.Errorf("/metrics says %q, want %q", l, m)
		}
	}
}
