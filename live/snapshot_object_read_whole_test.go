package live_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
// and a sealed snapshot is at most about that (S2's encoded bound plus a header and a
// checksum), yet the state store's get reads the object with an unbounded io.ReadAll.
// A 96 MiB object planted as a partition's newest snapshot under a limit of 1 MiB is
// read whole into memory before it is refused (bad checksum) and the older one
// restored: TotalAlloc around the restarted daemon's restore grows by the object's
// size, several times what any snapshot the limit allows could take.
func TestRestoreReadsSnapshotObjectWhole(t *testing.T) {
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

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	second, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL, c.MaxSnapshotBytes = group, "file://"+state, limit })
	var lastErr string
	poll.Until(t, 30*time.Second, "the partition restored", func() bool {
		st := second.State()
		if len(st.Partitions) != 1 || st.Partitions[0].Restored == nil {
			return false
		}
		lastErr = st.Partitions[0].LastError
		return true
	})
	runtime.ReadMemStats(&after)
	t.Logf("last_error: %s", lastErr)
	if !strings.Contains(lastErr, "restore skipped") {
		t.Errorf("the planted object was not skipped: last_error %q", lastErr)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	if alloc > 32<<20 {
		t.Errorf("restoring under --max-snapshot-bytes %d allocated %d bytes (TotalAlloc), reading the planted %d-byte object whole: a snapshot the limit allows seals to at most about %d bytes",
			limit, alloc, planted, limit+limit/6+64)
	}
}
