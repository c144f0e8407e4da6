package backfill

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestBackfillRidesOutHungStorage: a backfill job reads the lake (its manifests, then
// its files) while object storage takes requests and never answers them, for 2 s, and
// then answers again. No read of the lake had a time limit (the S3 client has none, and
// the job runs under the job's context alone, which live cancels only when the rule or
// partition goes), so the job never ended: live's rule stayed "backfilling" for ever,
// with nothing logged. A request that makes no progress for the bucket's
// --storage-timeout (1 s here) is now abandoned and retried: the job ends, with its
// counts or with ErrStorageTimeout, which live shows and retries.
func TestBackfillRidesOutHungStorage(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out hung storage (6 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	srv := s3test.Start(t, "lake")
	direct := lakehousetest.OpenBucket(t, srv.URL())
	gen := workload.New(5, workload.Config{Customers: 12, Step: time.Second})
	h := produce(t, b, gen, 2000)
	archive(t, b, direct, lakehouse.NewLake(direct, nil), h)

	proxy := srv.StartHangingProxy(t)
	lake := lakehouse.NewLake(lakehousetest.OpenBucketWith(t, proxy.URL(), lakehouse.StorageConfig{Timeout: time.Second}), nil)
	runner, err := NewRunner(Config{Lake: lake, Brokers: []string{b.Addr}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	r := workload.Rules(9, 1, workload.RulesConfig{Customers: 12, GlobalPercent: 100})[0]
	job := Job{Rule: r, Start: h.endOffsets(), AsOf: h[len(h)-1].Timestamp}

	proxy.Hang(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := runner.Run(ctx, job)
		done <- err
	}()
	time.Sleep(2 * time.Second)
	proxy.Hang(false)
	t.Log("storage answers again")
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, lakehouse.ErrStorageTimeout) {
			t.Fatalf("job failed, but not for storage that made no progress: %v", err)
		}
		t.Logf("job ended: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("storage hung for 2 s and has answered again for 60 s, but the backfill job has not ended (nor failed)")
	}
}
