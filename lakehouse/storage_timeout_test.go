package lakehouse_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/limitmetric"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// A request the store takes and never answers is abandoned after StorageConfig.Timeout
// with ErrStorageTimeout (the S3 client's three tries each abandoned), each counted as
// the limit reached; once the store answers again, the same bucket works.
func TestStorageTimeoutAbandonsAHungRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a hung store three times (8 s): make test runs it")
	}
	t.Parallel()
	srv := s3test.Start(t, "lake")
	proxy := srv.StartHangingProxy(t)
	reg := prometheus.NewRegistry()
	limits := limitmetric.New()
	reg.MustRegister(limits.Collectors()...)
	s := lakehouse.StorageConfig{Timeout: time.Second, Limits: limits, Logger: testLogger()}
	s.ShowLimit()
	bkt := lakehousetest.OpenBucketWith(t, proxy.URL(), s)
	ctx := context.Background()
	if err := bkt.Put(ctx, "a/b", bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}

	proxy.Hang(true)
	start := time.Now()
	_, err := bkt.Get(ctx, "a/b")
	took := time.Since(start)
	if !errors.Is(err, lakehouse.ErrStorageTimeout) {
		t.Fatalf("Get from storage that never answers: %v, want ErrStorageTimeout", err)
	}
	if took < 3*time.Second || took > 30*time.Second {
		t.Errorf("Get gave up after %v: want three tries of 1 s, and the client's waits between them", took.Round(time.Millisecond))
	}
	t.Logf("after %v: %v", took.Round(time.Millisecond), err)
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", lakehouse.LimitStorageTimeout); got != 3 {
		t.Errorf("requests abandoned counted %v, want 3", got)
	}
	if got := promtest.Value(t, reg, "hindsight_limit", "name", lakehouse.LimitStorageTimeout); got != 1 {
		t.Errorf("hindsight_limit{name=%q} = %v, want 1", lakehouse.LimitStorageTimeout, got)
	}

	proxy.Hang(false)
	if ok, err := bkt.Exists(ctx, "a/b"); err != nil || !ok {
		t.Fatalf("Exists once storage answers again: %v, %v", ok, err)
	}
}

// The timeout bounds a stall, not a transfer: an object that takes several times the
// timeout to come, its bytes trickling in all along, is read whole, and so is one whose
// reader pauses longer than the timeout between reads (its own time, not the store's).
func TestStorageTimeoutLetsASlowTransferRun(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a slow transfer (3 s): make test runs it")
	}
	t.Parallel()
	srv := s3test.Start(t, "lake")
	proxy := srv.StartHangingProxy(t)
	reg := prometheus.NewRegistry()
	limits := limitmetric.New()
	reg.MustRegister(limits.Collectors()...)
	bkt := lakehousetest.OpenBucketWith(t, proxy.URL(), lakehouse.StorageConfig{Timeout: time.Second, Limits: limits, Logger: testLogger()})
	ctx := context.Background()
	want := make([]byte, 3<<20)
	for i := range want {
		want[i] = byte(rand.N(256))
	}
	if err := bkt.Put(ctx, "big", bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}

	proxy.Throttle(1 << 20) // 3 s for the object
	start := time.Now()
	rc, err := bkt.Get(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // the reader's own pause
	rest, err := io.ReadAll(rc)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("reading an object coming at 1 MiB/s, with a timeout of 1 s, after %v: %v", took.Round(time.Millisecond), err)
	}
	if got := append(head, rest...); !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
	}
	if took < 2*time.Second {
		t.Errorf("the transfer took %v: not throttled, it proves nothing", took)
	}
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", lakehouse.LimitStorageTimeout); got > 0 {
		t.Errorf("%v requests abandoned, want none", got)
	}
	t.Logf("3 MiB read in %v", took.Round(time.Millisecond))
}
