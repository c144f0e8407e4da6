//go:build unix

package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRulesTestStopsOnSignalWhileInputIsIdle: `(echo EVENT; sleep 12) | hindsight rules
// test -f sample.yaml` ignored SIGINT and SIGTERM, blocked reading its idle stdin, and
// once the input ended reported in full with exit status 0, the signal lost. It stops
// now: the lines read are reported, then the error names the line it stopped at, exit
// status 1. The test gives it 20 s after the signal (a hang guard, not a timing
// assertion).
func TestRulesTestStopsOnSignalWhileInputIsIdle(t *testing.T) {
	cmd := exec.Command(hindsightBinary(t), "rules", "test", "-f", "../../testdata/rules/sample.yaml")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	cmd.Stderr = &errOut
	cmd.Env = os.Environ()
	// The first event before the start: without an argument, rules test takes stdin
	// as events only once it holds some.
	if _, err := stdin.Write([]byte(`{"customer":"c-1","type":"mfa.disabled"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outLines := make(chan string)
	go func() {
		defer close(outLines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			outLines <- sc.Text()
		}
	}()
	var out []string
	for l := range outLines {
		out = append(out, l)
		if strings.HasPrefix(l, "stdin:1:") {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	guard := time.After(20 * time.Second) // a hang guard only
	stopped := true
read:
	for {
		select {
		case l, ok := <-outLines:
			if !ok {
				break read
			}
			out = append(out, l)
		case <-guard:
			stopped = false
			_ = stdin.Close() // the input ends: see what rules test does with the signal then
			guard = time.After(30 * time.Second)
		}
	}
	werr := cmd.Wait()
	said := strings.Join(out, "\n") + "\n" + errOut.String()
	if !stopped {
		t.Errorf("rules test still running 20 s after SIGTERM, blocked reading its idle input; once the input closed it exited with status %d and said:\n%s", exitCode(werr), said)
	}
	if code := exitCode(werr); code != 1 || !strings.Contains(errOut.String(), "stdin interrupted at line 2") {
		t.Errorf("rules test stopped by SIGTERM after 1 event: exit status %d, want 1 and an error naming line 2 as where it stopped; said:\n%s", code, said)
	}
	if !strings.Contains(said, "1 event (0 skipped)") {
		t.Errorf("rules test stopped after 1 event: want the report of that event's run (\"1 event (0 skipped)\"); said:\n%s", said)
	}
}
