package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// README (Limits, --storage-timeout): storage that fails or hangs is "retried as any
// outage (...; then the archiver, compaction and the snapshot store back off and
// retry, ...; a one-shot command exits with the error)". `hindsight lake compact` is a
// one-shot command: when the store goes away in the middle of its pass (here: after
// its first merged file is uploaded) it retries for --storage-patience (default 30 s;
// 3 s here, which the error's failing time shows reached the pass), then exits with
// the error. It had retried for ever, with or without --storage-timeout, so a cron
// job's runs piled up while the store was down.
func TestLakeCompactExitsWhenStorageFailsMidPass(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out lake compact's --storage-patience (3 s) on a stopped store: make test runs it")
	}
	t.Parallel()
	srv := s3test.Start(t, "lake")
	bkt := lakehousetest.OpenBucket(t, srv.URL())
	before := lakehousetest.SmallFilesLake(t, bkt, 40, 3, 5, nil)
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := run(t, "", "lake", "compact", "--lake", srv.URL(), "--storage-timeout", "1s", "--storage-patience", "3s")
		done <- result{out, err}
	}()
	// Stop the store as soon as the pass has uploaded a merged file. Asked every 2 ms,
	// not poll's 10: the pass must still be running when the store goes.
	stopped := false
	poll.WithinEvery(30*time.Second, 2*time.Millisecond, func() bool {
		select {
		case r := <-done:
			t.Fatalf("the pass ended before the store could be stopped (it outran the poll: give it more partitions): %v\n%s", r.err, r.out)
		default:
		}
		_ = bkt.List(context.Background(), "data/", func(a lakehouse.ObjectAttributes) error {
			if !before[a.Name] && !stopped {
				srv.Stop()
				stopped = true
				t.Logf("store stopped after %s was uploaded", a.Name)
			}
			return nil
		})
		return stopped
	})
	if !stopped {
		t.Fatal("no merged file was uploaded")
	}
	defer func() { _ = srv.Restart() }()
	select {
	case r := <-done:
		t.Logf("lake compact returned: exit %d, %v\n%s", exitCode(r.err), r.err, r.out)
		if r.err == nil {
			t.Errorf("lake compact succeeded with its store down")
		} else if m := failingFor.FindStringSubmatch(r.err.Error()); m == nil {
			t.Errorf("lake compact's error does not say storage kept failing: %v", r.err)
		} else if d, err := time.ParseDuration(m[1]); err != nil || d < 3*time.Second || d >= lakehouse.DefaultStoragePatience {
			t.Errorf("lake compact gave up after storage failed for %s, want its --storage-patience 3s (at least, and short of the default %v): %v", m[1], lakehouse.DefaultStoragePatience, r.err)
		}
	case <-time.After(90 * time.Second):
		t.Errorf("lake compact has not exited 90 s after its store went down (--storage-timeout 1s): a one-shot command exits with the error")
	}
}

// failingFor is how long a given-up storage operation kept failing, in its error.
var failingFor = regexp.MustCompile(`storage failing for (\S+), gave up`)
