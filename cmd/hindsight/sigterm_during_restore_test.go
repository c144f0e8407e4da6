package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSigtermDuringRestoreIsAStop: `hindsight live` gets its partition while the state
// store (--state, S3 on loopback, stopped) cannot be listed, so the partition's restore
// waits for it (--restore-patience 10m). SIGTERM then should stop the daemon, as at any
// other point (TestSigtermWhileProbingBrokerIsAStop). The restore ran on a context of
// its own (context.Background() + --shutdown-timeout + 30 s) that the signal does not
// end: it went on retrying the store after the signal until that bound ran out, then
// logged at ERROR "no snapshot restored; the partition's counts are rebuilt from
// history" (and counted a restore failure) for a partition that was only being stopped,
// and the stop took --shutdown-timeout + 30 s.
func TestSigtermDuringRestoreIsAStop(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a daemon through a restore waiting for a stopped store, then its stop (about 4 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	srv := s3test.Start(t, "state")
	dir := t.TempDir()
	hindsightBinary(t)
	b.Produce(t, livetest.Event("c-1", `{"type":"x"}`))
	srv.Stop()
	defer func() { _ = srv.Restart() }()
	args := []string{"--brokers", b.Addr, "--group", "rs", "--lake", "file://" + filepath.Join(dir, "lake"), "--state", srv.URL(),
		"--storage-timeout", "1s", "--restore-patience", "10m", "--shutdown-timeout", "5s", "--backfill-cache-dir", filepath.Join(dir, "cache")}
	p := startLiveProc(t, dir, "run0", args...)
	const waiting = "the partition's restore waits for it"
	poll.Until(t, 60*time.Second, "the restore to wait for the state store", func() bool { return strings.Contains(p.logText(), waiting) })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(120 * time.Second): // a hang guard only
		t.Fatalf("live has not exited 120 s after SIGTERM:\n%s", p.tail(20))
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	if text := p.logText(); strings.Contains(text, "no snapshot restored") {
		t.Errorf("SIGTERM during the restore: the restore went on (%d attempts logged in all) and then reported the stop as a failed restore:\n%s",
			strings.Count(text, waiting), p.tail(3))
	} else if !strings.Contains(text, "restore abandoned: stopping") {
		t.Errorf("SIGTERM during the restore: the stop does not say the restore was abandoned:\n%s", p.tail(5))
	}
}
