package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// backfillCovers is backfill's line saying what one rule's counts cover.
var backfillCovers = regexp.MustCompile(`(?m)^\*/mfa-disabled: \d+ files?, \d+ rows?, \d+ tail records? from Kafka in \S+$`)

// TestBackfillSaysWhatItReadOnStderr: backfill's per-rule line ("…: 3 files, 1200 rows,
// 5 tail records from Kafka in 18ms") goes to stderr and its counts to stdout, so that
// stdout pipes as counts alone, and the README says so. The README said the commands
// that do not log print only their results and errors, without saying which stream this
// line, neither a count nor an error, is on.
func TestBackfillSaysWhatItReadOnStderr(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if said := "`backfill` prints its counts (the table, or `--json`) on stdout and, per\nrule, what they cover on stderr"; !strings.Contains(string(readme), said) {
		t.Errorf("the README does not say which stream backfill's per-rule line is on (%q)", said)
	}

	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	recs := livetest.ProduceEvents(t, b, workload.New(3, workload.Config{Customers: 3}), 100)
	_, lakeDir := livetest.Archive(t, b, recs)
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	writeFile(t, rules, "- {id: mfa-disabled, scope: \"*\", threshold: 1, when: {path: $.type, op: exists}}\n")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(hindsightBinary(t), "backfill", "-f", rules, "--brokers", b.Addr, "--lake", "file://"+lakeDir, "--cache-dir", filepath.Join(dir, "cache"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("backfill: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	if !backfillCovers.MatchString(stderr.String()) {
		t.Errorf("stderr has no line saying what */mfa-disabled's counts cover:\n%s", &stderr)
	}
	if backfillCovers.MatchString(stdout.String()) || !strings.HasPrefix(stdout.String(), "RULE ") {
		t.Errorf("stdout is not the counts alone:\n%s", &stdout)
	}
}
