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

// TestSecondSignalExitsAtOnce: `hindsight live` stopped (SIGTERM) while its lake's
// storage is down waits for its archiver's final flush for --shutdown-timeout (10m
// here). A second signal was ignored (the first's handler stayed registered), so an
// operator could only kill -9. It now ends the process at once, exit status 1, saying
// what was abandoned; the state is as kill -9 leaves it.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	srv := s3test.Start(t, "lake")
	lake := lakehouse.NewLake(lakehousetest.OpenBucket(t, srv.URL()), nil)
	dir := t.TempDir()
	hindsightBinary(t)
	args := []string{"--brokers", b.Addr, "--group", "ss", "--lake", srv.URL(), "--state", "file://" + filepath.Join(dir, "state"),
		"--archive-roll-age", "200ms", "--storage-timeout", "1s", "--shutdown-timeout", "10m", "--backfill-cache-dir", filepath.Join(dir, "cache")}
	p := startLiveProc(t, dir, "run0", args...)
	ev := func(i int) { b.Produce(t, livetest.Event("c-1", fmt.Sprintf(`{"type":"x","i":%d}`, i))) }
	ev(0)
	poll.Until(t, 60*time.Second, "offset 0 archived", func() bool {
		s, err := lake.Snapshot(context.Background())
		return err == nil && s.Watermark(0) >= 0
	})
	srv.Stop()
	defer func() { _ = srv.Restart() }()
	ev(1)
	poll.Until(t, 60*time.Second, "the upload of offset 1 to fail", func() bool {
		return strings.Contains(p.logText(), "storage operation failed, retrying")
	})
	revoked := strings.Count(p.logText(), "partitions revoked")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The stop is under way once the consumer has left the group; the final flush then
	// waits for the store.
	poll.Until(t, 60*time.Second, "the stop under way", func() bool { return strings.Count(p.logText(), "partitions revoked") > revoked })
	select {
	case <-p.exited:
		t.Fatalf("live exited before the second signal: the test shows nothing:\n%s", p.tail(10))
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(120 * time.Second): // a hang guard only: the stop would take 10 minutes
		t.Fatalf("live has not exited 120 s after a second signal:\n%s", p.tail(20))
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit status %d after a second signal, want 1", code)
	}
	if text := p.logText(); !strings.Contains(text, "interrupt again: exiting at once, the stop under way abandoned") {
		t.Errorf("a second signal ended live without saying what it abandoned:\n%s", p.tail(5))
	}
}
