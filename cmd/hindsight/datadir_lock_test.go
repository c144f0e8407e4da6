package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second `hindsight live` given the --data-dir a running one keeps its embedded
// broker's log in is refused with a clear error: both ran, and their two brokers
// appended to one log, each acknowledging events at the same offsets (a restart then
// read partition 3 as offsets 0, 1, 2, 0, 1, 2, and the second's events never reached
// the lake). Once the first stops, the directory is free again.
func TestSecondLiveOnTheSameDataDirIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "shared")
	start := func(name string) *liveProc {
		return startLiveProc(t, dir, name, "--data-dir", data, "--embedded-addr", "127.0.0.1:0")
	}
	first := start("first")
	first.waitHTTP(t)
	second := start("second")
	select {
	case <-second.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("a second hindsight live on %s, the first running, was not refused within 60s:\n%s", data, second.tail(5))
	}
	if code := second.cmd.ProcessState.ExitCode(); code == 0 || !strings.Contains(second.logText(), "data directory is in use: "+data) {
		t.Errorf("second daemon on %s: exit status %d, want non-zero naming the directory in use:\n%s", data, code, second.tail(5))
	}
	first.kill()
	third := start("third")
	third.waitHTTP(t)
}
