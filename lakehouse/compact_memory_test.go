package lakehouse_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestCompactionMemoryFollowsTargetBytes: TargetBytes bounds the memory a merge takes.
// Counting a merged file's raw JSON alone, a group of small events was read whole into
// a []Row (about 100 bytes of Row and two cloned strings per row) before the new file's
// batch and columns were built: for events of 2 bytes a compaction took 76× TargetBytes
// of heap. Now each input's rows go straight into the batch and a group counts a cost
// per row (and typed path) besides the JSON, so the heap and the off-heap buffers a
// pass takes stay near TargetBytes, and the small files are still merged.
func TestCompactionMemoryFollowsTargetBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("slow, and alone (it measures the heap): 480,000 events archived and compacted; runs in make test")
	}
	// A merge holds a file's encoders whatever its size (zstd's, one per column,
	// several MB): the bound is TargetBytes and that much.
	const target, fixed, rounds, events = 8 << 20, 24 << 20, 24, 20_000
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	cfg := archiverConfig(b, bkt, "compactmem")
	cfg.RollBytes = 1 << 20
	cfg.RollAge = 50 * time.Millisecond
	stop := startArchiver(t, cfg)
	cl := b.Client(t)
	ts := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute)
	var end int64
	for range rounds {
		recs := make([]*kgo.Record, events)
		for i := range recs {
			recs[i] = &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{}`), Timestamp: ts}
		}
		res := cl.ProduceSync(ctx, recs...)
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		end = res[len(res)-1].Record.Offset
		waitArchived(t, lake, map[int32]int64{0: end}, 30*time.Second)
	}
	stopArchivers(t, stop)
	before, _ := lake.Snapshot(ctx)
	var raw int64
	for _, f := range before.Files(lakehouse.Filter{}) {
		raw += f.RawBytes
	}
	// Garbage counts only as the collector lets it pile up (at GOGC 100, as much again
	// as the broker's records the test process holds): collected at once, the heap
	// is what the pass holds live.
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := int64(ms.HeapAlloc) + lakehouse.BuffersOutstanding()
	var peak atomic.Int64
	peak.Store(base)
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if n := int64(m.HeapAlloc) + lakehouse.BuffersOutstanding(); n > peak.Load() {
				peak.Store(n)
			}
		}
	}()
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 8 << 20, TargetBytes: target, DeleteDelay: time.Hour})
	close(done)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	grew := peak.Load() - base
	t.Logf("%d files (%d rows, %d raw bytes) compacted %d into %d; TargetBytes %d; heap and buffers grew %.1f MB at their peak (%.2f× the bound) from %.1f MB",
		len(before.Files(lakehouse.Filter{})), end+1, raw, rep.FilesCompacted, rep.FilesWritten, target, float64(grew)/1e6, float64(grew)/target, float64(base)/1e6)
	if rep.FilesCompacted < len(before.Files(lakehouse.Filter{}))/2 || rep.FilesWritten == 0 {
		t.Errorf("compacted %d of %d small files into %d: a bound that merges nothing shows nothing", rep.FilesCompacted, len(before.Files(lakehouse.Filter{})), rep.FilesWritten)
	}
	if grew > target+fixed {
		t.Errorf("compaction under TargetBytes %d (raw %d bytes merged) took %.1f MB of heap and buffers: %.1f× the bound, past it and %d MiB of encoders",
			target, raw, float64(grew)/1e6, float64(grew)/target, fixed>>20)
	}
	after, _ := lake.Snapshot(ctx)
	var rows int64
	for _, f := range after.Files(lakehouse.Filter{}) {
		rows += f.Rows
	}
	if rows != end+1 {
		t.Errorf("the lake holds %d rows after compaction, %d before", rows, end+1)
	}
}
