package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestLiveSaysItsFinalArchiveFlushFailed: `hindsight live` is stopped (SIGTERM) while
// its lake's object storage is down, with events read and not yet archived. Its
// embedded archiver's final flush fails (lakehouse.finalFlush: "final flush (nothing is
// lost: the records stay in Kafka)"), and `hindsight archive` exits 1 with that error;
// live dropped the error (the daemon's archiver goroutine keeps an archiver error only
// while the daemon is not stopping), logged "live daemon stopped" at INFO and exited 0,
// so an operator could not tell the stop left events unarchived. The stop must say so.
func TestLiveSaysItsFinalArchiveFlushFailed(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the archiver's final flush against a stopped store (--shutdown-timeout 2s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	srv := s3test.Start(t, "lake")
	lake := lakehouse.NewLake(lakehousetest.OpenBucket(t, srv.URL()), nil)
	dir := t.TempDir()
	hindsightBinary(t)
	args := []string{"--brokers", b.Addr, "--group", "ff", "--lake", srv.URL(), "--state", "file://" + filepath.Join(dir, "state"),
		"--archive-roll-age", "200ms", "--storage-timeout", "1s", "--shutdown-timeout", "2s", "--backfill-cache-dir", filepath.Join(dir, "cache")}
	p := startLiveProc(t, dir, "run0", args...)
	ev := func(i int) { b.Produce(t, livetest.Event("c-1", fmt.Sprintf(`{"type":"x","i":%d}`, i))) }
	for i := range 10 {
		ev(i)
	}
	poll.Until(t, 60*time.Second, "offsets 0-9 archived", func() bool {
		s, err := lake.Snapshot(context.Background())
		return err == nil && s.Watermark(0) >= 9
	})
	srv.Stop()
	defer func() { _ = srv.Restart() }()
	for i := 10; i < 20; i++ {
		ev(i)
	}
	// The daemon has read the ten events the store cannot take.
	poll.Until(t, 60*time.Second, "the upload of offsets 10-19 to fail", func() bool {
		return strings.Contains(p.logText(), "storage operation failed, retrying")
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(120 * time.Second): // a hang guard only
		t.Fatalf("live has not exited 120 s after SIGTERM:\n%s", p.tail(30))
	}
	text := p.logText()
	if !strings.Contains(text, "final flush") {
		t.Errorf("live stopped (%v) with offsets 10-19 not archived (its final flush failed: storage down) and said nothing of it; the log's last lines:\n%s",
			p.cmd.ProcessState, p.tail(4))
	}
	// The flush was given --shutdown-timeout, not the archiver's own 30 s.
	if !strings.Contains(text, "shutdown_timeout=2s") {
		t.Errorf("the final flush's failure does not name its bound, --shutdown-timeout 2s; the log's last lines:\n%s", p.tail(4))
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit status %d after a stop whose final flush failed, want 1 (as hindsight archive)", code)
	}
}
