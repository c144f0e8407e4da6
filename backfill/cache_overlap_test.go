package backfill

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestCacheTrimmedWhileAnotherJobReads: a job over a lake of many files, under a cache
// bound of one byte, while another reader holds a file of the cache (a second job,
// two at a time through a queue of hand-offs). Eviction waited for no reader at all,
// so the cache kept every file fetched, up to the whole lake (a helper's finding). The
// job's counts are whole, and after it the cache holds the other reader's file alone:
// the job's files went once each chunk was read.
func TestCacheTrimmedWhileAnotherJobReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt, _ := lakehousetest.FileBucket(t)
	lake := lakehouse.NewLake(bkt, nil)
	actx, stopArchiver := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(actx, lakehouse.ArchiverConfig{Brokers: []string{b.Addr}, Bucket: bkt,
			RollAge: 20 * time.Millisecond, RollBytes: 8 << 10, MaxBufferedBytes: 64 << 20, CompactInterval: -1})
	}()
	gen := workload.New(7, workload.Config{Customers: 5})
	h := produce(t, b, gen, 2000)
	snap := waitLake(t, lake, h)
	stopArchiver()
	if err := <-done; err != nil {
		t.Fatalf("archiver: %v", err)
	}
	files := snap.Files(lakehouse.Filter{})
	if len(files) < 40 {
		t.Fatalf("the lake holds %d files; the test wants more than two chunks of 16", len(files))
	}
	cache := t.TempDir()
	// The other reader's file, fetched and read (pinned) throughout.
	other := files[0]
	if _, err := lake.Fetch(ctx, other, cache); err != nil {
		t.Fatal(err)
	}
	defer pinFiles(cache, other)()

	r, err := rule.ParseRule([]byte(`{"id":"fails","scope":"*","threshold":1,"when":{"path":"$.outcome","op":"==","value":"failure"}}`))
	if err != nil {
		t.Fatal(err)
	}
	runner, err := NewRunner(Config{Lake: lake, CacheDir: cache, CacheMaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	end := map[int32]int64{0: h[len(h)-1].Offset + 1}
	job := Job{Rule: r, Start: end}
	res, err := runner.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if want := oracle(h, job); !maps.Equal(res.Counts, want) {
		t.Errorf("counts %v, want %v", res.Counts, want)
	}
	if ev := evictCache(cache, 1<<40); ev.Files != 1 || ev.Pinned != 1 {
		t.Errorf("after the job the cache holds %d files (%d bytes), %d pinned; want the other reader's one: %d lake files were read", ev.Files, ev.Bytes, ev.Pinned, len(files))
	}
}
