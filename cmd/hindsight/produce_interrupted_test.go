package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestProduceInterruptedSaysWhatItSent: `hindsight produce --quiet` ("print the summary
// only") sending a file at --rate 20 is stopped with SIGTERM part way. Some of the
// file's events are in the topic; sending the file again would send them twice (live
// counts each twice), so the stop must say how many were sent. It printed only
// "hindsight: context canceled" (runProduce returns ctx.Err() at the rate's wait, or
// "sending line N: context canceled" from ProduceSync, before the summary), exit 1.
func TestProduceInterruptedSaysWhatItSent(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	dir := t.TempDir()
	var lines strings.Builder
	for i := range 200 {
		fmt.Fprintf(&lines, `{"customer":"c-%d","type":"x"}`+"\n", i)
	}
	file := filepath.Join(dir, "events.ndjson")
	writeFile(t, file, lines.String())
	cmd := exec.Command(hindsightBinary(t), "produce", "--brokers", b.Addr, "--quiet", "--rate", "20", file)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	poll.Until(t, 60*time.Second, "some events sent", func() bool { return b.TopicRecords(t, "events") >= 5 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var werr error
	select {
	case werr = <-done:
	case <-time.After(60 * time.Second): // a hang guard only
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("produce still running 60 s after SIGTERM:\n%s", out.String())
	}
	sent := b.TopicRecords(t, "events")
	if sent >= 200 {
		t.Fatalf("all 200 events were sent before the signal: the test shows nothing")
	}
	want := fmt.Sprintf("%d events sent", sent)
	if !strings.Contains(out.String(), want) {
		t.Errorf("produce stopped by SIGTERM (exit status %d) after sending %d of 200 events, and did not say so (want %q):\n%s",
			exitCode(werr), sent, want, out.String())
	}
	if code := exitCode(werr); code != 1 || !strings.Contains(out.String(), fmt.Sprintf("interrupted at line %d", sent+1)) {
		t.Errorf("produce stopped by SIGTERM after %d events: exit status %d, want 1, and the line it stopped at (%d) said:\n%s", sent, code, sent+1, out.String())
	}
}
