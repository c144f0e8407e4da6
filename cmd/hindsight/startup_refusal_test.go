package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// runToEnd runs the built binary with args to its end (at most a minute) and returns
// its exit status and the last line it printed.
func runToEnd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hindsightBinary(t), args...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("hindsight %s: %v", strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return exitCode(err), lines[len(lines)-1]
}

// An invalid value of a flag of live's embedded archiver is bad input, as
// --archive-retention -1h and the standalone archiver's --roll-age -1s are: exit
// status 2 before any work. The daemon used to start (its data directory, embedded
// broker, HTTP listener, topics) and then stop with the archiver's complaint and exit
// status 1.
func TestLiveRefusesInvalidEmbeddedArchiverFlags(t *testing.T) {
	t.Parallel()
	for _, flag := range [][]string{
		{"--archive-roll-age", "-1s"},
		{"--archive-flush-concurrency", "-1"},
		{"--session-timeout", "50ms"},
	} {
		dataDir := filepath.Join(t.TempDir(), "data")
		args := append([]string{"live", "--data-dir", dataDir, "--http", "127.0.0.1:0", "--embedded-addr", "127.0.0.1:0"}, flag...)
		if code, last := runToEnd(t, args...); code != 2 {
			t.Errorf("hindsight %s: exit status %d (%s), want 2 for an invalid flag value", strings.Join(flag, " "), code, last)
		}
		if _, err := os.Stat(dataDir); err == nil {
			t.Errorf("hindsight %s: the daemon started before refusing the flag: it made %s", strings.Join(flag, " "), dataDir)
		}
	}
}

// A --session-timeout below the Kafka client's least (100ms) is refused as bad input
// by the standalone archiver too, before it asks a broker; it failed with exit status
// 1 once its client was made. The error names the flag, not ArchiverConfig.SessionTimeout.
func TestArchiveRefusesSessionTimeoutBelowClientFloor(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	code, last := runToEnd(t, "archive", "--brokers", b.Addr, "--metrics-addr", "", "--lake", "file://"+filepath.Join(t.TempDir(), "lake"), "--session-timeout", "50ms")
	if code != 2 || !strings.Contains(last, "--session-timeout 50ms is below the Kafka client's least, 100ms") {
		t.Errorf("archive --session-timeout 50ms: exit status %d (%s), want 2 naming the least", code, last)
	}
}

// SIGINT and SIGTERM stop a daemon at any point: stopped while it asks whether a broker
// answers (this one accepts connections and says nothing), archive and notify exit 0.
// They exited 1 saying "no broker answered … within 3s", which was neither waited for
// nor true.
func TestSigtermWhileProbingBrokerIsAStop(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	for _, args := range [][]string{
		{"archive", "--brokers", l.Addr().String(), "--metrics-addr", "", "--lake", "file://" + filepath.Join(t.TempDir(), "lake")},
		{"notify", "--brokers", l.Addr().String(), "--http", ""},
	} {
		cmd := exec.Command(hindsightBinary(t), args...)
		cmd.Dir = t.TempDir()
		var out strings.Builder
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Stopped once the probe has its connection (within its 3 s).
		mu.Lock()
		before := len(conns)
		mu.Unlock()
		poll.Until(t, 30*time.Second, args[0]+": a connection to the silent broker", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(conns) > before
		})
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var werr error
		select {
		case werr = <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("%s: still running 30 s after SIGTERM", args[0])
		}
		if code := exitCode(werr); code != 0 || strings.Contains(out.String(), "no broker answered") {
			t.Errorf("hindsight %s stopped by SIGTERM during its broker probe: exit status %d, stderr:\n%s", args[0], code, strings.TrimSpace(out.String()))
		}
	}
}
