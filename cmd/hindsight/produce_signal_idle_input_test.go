//go:build unix

package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestProduceStopsOnSignalWhileInputIsIdle: README.md ("Running it") says `hindsight
// produce`, "stopped by a signal, it says what it sent and the line it stopped at (exit
// status 1)". Fed from a pipe that stays open (`tail -f events.ndjson | hindsight
// produce`, or a terminal), after one line and no more, SIGTERM (and SIGINT alike) does
// not stop it: it stays blocked reading its input; once the input ends it prints the
// ordinary summary and exits 0, the signal swallowed. The test gives it 20 s after the
// signal (a hang guard, not a timing assertion), then closes the input and reports what
// it printed and its exit status.
func TestProduceStopsOnSignalWhileInputIsIdle(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	cmd := exec.Command(hindsightBinary(t), "produce", "--brokers", b.Addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if _, err := stdin.Write([]byte(`{"customer":"c-1","type":"x"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "the first event sent", func() bool { return b.TopicRecords(t, "events") >= 1 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var werr error
	stopped := true
	select {
	case werr = <-done:
	case <-time.After(20 * time.Second): // a hang guard only
		stopped = false
		_ = stdin.Close() // the input ends: see what produce does with the signal then
		select {
		case werr = <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			werr = <-done
		}
	}
	if !stopped {
		t.Errorf("produce still running 20 s after SIGTERM, blocked reading its idle input; once the input closed it exited with status %d and said:\n%s", exitCode(werr), out.String())
	}
	if code := exitCode(werr); code != 1 || !strings.Contains(out.String(), "interrupted") {
		t.Errorf("produce stopped by SIGTERM after 1 event: exit status %d, want 1 and a summary saying it was interrupted; said:\n%s", code, out.String())
	}
}
