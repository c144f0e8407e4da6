package live_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestStopWhoseSnapshotsFailedEndsWithoutError: the state store (S3) refuses writes
// (500) after a partition's first snapshot; the daemon counts 10 logins, which no
// stored snapshot holds, and is stopped. The stop's snapshot of the partition fails
// too (logged at WARN), and the daemon ends with no error, so hindsight live exits 0,
// as if the stop had "committed, snapshotted" as the README says: the next start
// restores the older snapshot and evaluates the events since again, sending their
// alerts a second time, and nothing told the operator. The archiver's final flush
// failing alike ends the daemon with an error (exit 1) for this reason. Now the stop
// ends with ErrFinalSnapshot naming the partition.
func TestStopWhoseSnapshotsFailedEndsWithoutError(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a failing store at stop: make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	s3 := s3test.Start(t, "state")
	var failPuts atomic.Bool
	proxy := s3.StartFaultyProxy(t, func(w http.ResponseWriter, r *http.Request) bool {
		if failPuts.Load() && r.Method == http.MethodPut {
			s3test.WriteError(w, http.StatusInternalServerError, "InternalError")
			return true
		}
		return false
	})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))

	cfg := livetest.Config(t, b)
	cfg.StateURL, cfg.SnapshotInterval = proxy.URL(), 200*time.Millisecond
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	d, err := live.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "the partition's first snapshot stored", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].LastSnapshot != nil
	})
	failPuts.Store(true)
	for range 10 {
		b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	}
	poll.Until(t, 20*time.Second, "10 logins counted", func() bool { v, _ := d.Count(r.Key(), "a"); return v.Count == 10 })
	var lastErr string
	poll.Until(t, 20*time.Second, "a snapshot refused by the store", func() bool {
		lastErr = d.State().Partitions[0].LastError
		return lastErr != ""
	})
	stored := d.State().Partitions[0].LastSnapshot.Offset
	stop()
	select {
	case <-d.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the daemon did not stop")
	}
	err = d.Wait()
	if err == nil {
		t.Fatalf("the stop's snapshot failed (the store refuses writes: %s); the newest stored snapshot is at offset %d, below the 10 logins; yet the daemon ended with no error (hindsight live exits 0)", lastErr, stored)
	}
	if !errors.Is(err, live.ErrFinalSnapshot) || !strings.Contains(err.Error(), "partitions [0]: partition 0: storing ") {
		t.Errorf("the stop's error %q is not ErrFinalSnapshot naming partition 0 and the failed store", err)
	}
}
