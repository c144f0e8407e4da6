package live_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
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

// TestSnapshotAboveMaxBytesIsNotStoredAndSaysSo: a partition whose state encodes
// above --max-snapshot-bytes stores no snapshot (a restore would refuse it, and the
// partition be counted again from an older one or from history), and says so in
// /v1/state's last_error and hindsight_limit_reached_total. A newest snapshot whose
// block claims more than the limit is skipped for the older one, counted alike.
func TestSnapshotAboveMaxBytesIsNotStoredAndSaysSo(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	state := t.TempDir()
	group := "max-snapshot-bytes"

	// Its stop's snapshot is refused alike: ErrFinalSnapshot.
	d, stop := livetest.StartLiveStoppingWith(t, b, func(c *live.Config) { c.Group, c.StateURL, c.MaxSnapshotBytes = group, "file://"+state, 1 }, live.ErrFinalSnapshot)
	var lastErr string
	poll.Until(t, 20*time.Second, "the partition's snapshot refused", func() bool {
		st := d.State()
		if len(st.Partitions) != 1 {
			return false
		}
		lastErr = st.Partitions[0].LastError
		return lastErr != ""
	})
	if !strings.Contains(lastErr, "above the limit of 1 (--max-snapshot-bytes): not stored") {
		t.Errorf("/v1/state's last_error %q does not name the limit", lastErr)
	}
	if l := metricLine(livetest.GetText(t, "http://"+d.HTTPAddr()+"/metrics"), `hindsight_limit_reached_total{name="max_snapshot_bytes"}`); strings.HasSuffix(l, " 0") || l == "absent" {
		t.Errorf("the snapshot was refused, and /metrics says %q", l)
	}
	stop()
	<-d.Done()
	if err := d.Wait(); !errors.Is(err, live.ErrFinalSnapshot) || !errors.Is(err, live.ErrSnapshotTooLarge) {
		t.Errorf("the stop whose snapshot was refused for its size ended with %v, want ErrFinalSnapshot of ErrSnapshotTooLarge", err)
	}
	if snaps, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap")); len(snaps) != 0 {
		t.Fatalf("snapshots above the limit were stored: %v", snaps)
	}

	d, stop = livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, "file://"+state })
	poll.Until(t, 20*time.Second, "a snapshot stored", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil
	})
	stop()
	<-d.Done()
	snaps, _ := filepath.Glob(filepath.Join(state, "state", "*", "*", "*", "*.snap"))
	sort.Strings(snaps)
	if len(snaps) == 0 {
		t.Fatal("no snapshot stored under the default limit")
	}
	// A newer snapshot, its block claiming 64 MiB (one literal of 4 bytes), its
	// checksum valid.
	data := append([]byte("HSPS"), 7, 0, 1, 0)
	data = binary.AppendUvarint(data, 64<<20)
	data = append(data, 3<<2, 'a', 'b', 'c', 'd')
	data = binary.LittleEndian.AppendUint32(data, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	newest := snaps[len(snaps)-1]
	at, err := strconv.ParseInt(strings.TrimSuffix(strings.SplitN(filepath.Base(newest), "-", 2)[1], ".snap"), 10, 64)
	if err != nil {
		t.Fatalf("the name of %s: %v", newest, err)
	}
	crafted := filepath.Join(filepath.Dir(newest), fmt.Sprintf("00000000000000000001-%020d.snap", at+1))
	if err := os.WriteFile(crafted, data, 0o644); err != nil {
		t.Fatal(err)
	}

	third, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL, c.MaxSnapshotBytes = group, "file://"+state, 1<<20 })
	poll.Until(t, 20*time.Second, "the partition restored", func() bool {
		st := third.State()
		if len(st.Partitions) != 1 || st.Partitions[0].Restored == nil {
			return false
		}
		lastErr = st.Partitions[0].LastError
		return true
	})
	if want := "claims 67108864 bytes decompressed, above the limit of 1048576 (--max-snapshot-bytes)"; !strings.Contains(lastErr, want) {
		t.Errorf("/v1/state's last_error %q does not say %q", lastErr, want)
	}
	metrics := livetest.GetText(t, "http://"+third.HTTPAddr()+"/metrics")
	for _, m := range []string{`hindsight_limit_reached_total{name="max_snapshot_bytes"} 1`, "hindsight_snapshot_skipped_total 1"} {
		if l := metricLine(metrics, strings.Fields(m)[0]); l != m {
			t.Errorf("/metrics says %q, want %q", l, m)
		}
	}
}
