package lakehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestArchiverRidesOutHungStorage: object storage that takes requests and never answers
// them (a hung node, a half-open connection) for 3 s, then answers again. The archiver
// retries storage outages with backoff (TestStorageOutage), but a request that never
// returns was never retried: no request had a time limit (the S3 client has none, and
// the archiver's calls run under its run context alone), so the archive stopped for
// good, while storage was long healthy again, with nothing counted or logged. Each
// request that makes no progress for --storage-timeout (1 s here) is now abandoned,
// counted and retried.
func TestArchiverRidesOutHungStorage(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a hung store (5 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	srv := s3test.Start(t, "lake")
	proxy := srv.StartHangingProxy(t)
	lake := lakehouse.NewLake(lakehousetest.OpenBucket(t, srv.URL()), testLogger()) // reads bypass the proxy
	h := newHistory(7)
	cl := b.Client(t)
	cfg, reg := meteredArchiverConfig(b, nil, "hung")
	cfg.BucketURL, cfg.StorageTimeout = proxy.URL(), time.Second // the archiver opens it, and counts into reg
	stop := startArchiver(t, cfg)

	h.produce(t, cl, 500)
	waitArchived(t, lake, h.ends(), 60*time.Second)

	proxy.Hang(true)
	h.produce(t, cl, 500)
	time.Sleep(3 * time.Second) // the archiver rolls files every 150 ms: its writes hang
	proxy.Hang(false)
	t.Log("storage answers again")

	h.produce(t, cl, 500)
	deadline := time.Now().Add(60 * time.Second)
	for {
		snap, err := lake.Snapshot(context.Background())
		done := err == nil
		if done {
			for p, e := range h.ends() {
				if snap.Watermark(p) < e {
					done = false
				}
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			var marks []int64
			if snap != nil {
				for p := range h.ends() {
					marks = append(marks, snap.Watermark(p))
				}
			}
			t.Fatalf("storage hung for 3 s and has answered again for 60 s, but the archive is stuck: watermarks %v, want %v; requests abandoned: %v, storage errors counted: %v",
				marks, h.ends(), promtest.Value(t, reg, "hindsight_limit_reached_total", "name", lakehouse.LimitStorageTimeout),
				promtest.Sum(t, reg, "hindsight_lake_storage_errors_total"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopArchivers(t, stop)
	if got := promtest.Value(t, reg, "hindsight_limit", "name", lakehouse.LimitStorageTimeout); got != 1 {
		t.Errorf("hindsight_limit{name=%q} = %v, want 1 (seconds)", lakehouse.LimitStorageTimeout, got)
	}
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", lakehouse.LimitStorageTimeout); got < 1 {
		t.Errorf("hindsight_limit_reached_total{name=%q} = %v: no request counted as abandoned while storage hung", lakehouse.LimitStorageTimeout, got)
	}
}
