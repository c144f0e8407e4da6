package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// "The commands that log (live, notify, archive, lake, bench) write logfmt lines to
// stderr … the others only print their results and errors, and take no log flags"
// (README). backfill, trimming its cache to --cache-max-bytes, printed Go's default
// log lines ("2026/12/06 07:10:59 INFO cache trimmed dir=… files=1 …") among its
// results on stderr, in neither logfmt nor a result's form, with no flag to quiet them.
func TestBackfillPrintsNoLogLines(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	recs := livetest.ProduceEvents(t, b, workload.New(3, workload.Config{Customers: 3}), 100)
	_, lakeDir := livetest.Archive(t, b, recs)
	dir := t.TempDir()
	cmd := exec.Command(hindsightBinary(t), "backfill", "-f", filepath.Join("..", "..", "testdata", "rules", "sample.yaml"),
		"--brokers", b.Addr, "--lake", "file://"+lakeDir, "--cache-dir", filepath.Join(dir, "cache"), "--cache-max-bytes", "1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, " INFO ") || strings.Contains(line, "level=") {
			t.Errorf("backfill printed a log line: %s", line)
		}
	}
}
