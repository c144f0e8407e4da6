package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestRulesFileWithAnEmptyListIsBadInput: a rules file whose list of rules is empty
// ("[]" or "rules: []") is bad input, as an empty file is (exit 2, "no rules"), for
// backtest and backfill alike; backtest exited 1, as for a failure, and backfill said
// that every rule named has group_by or a window, when it names none.
func TestRulesFileWithAnEmptyListIsBadInput(t *testing.T) {
	t.Parallel()
	url := manifestOnlyLake(t)
	dir := t.TempDir()
	for i, body := range []string{"", "[]\n", "rules: []\n"} {
		f := filepath.Join(dir, fmt.Sprintf("empty-%d.yaml", i))
		writeFile(t, f, body)
		for _, args := range [][]string{
			{"backtest", "-f", f, "--lake", url, "--brokers", ""},
			{"backfill", "-f", f, "--lake", url, "--brokers", "", "--at", "0:5"},
		} {
			out, err := run(t, "", args...)
			if exitCode(err) != 2 || !strings.Contains(err.Error(), "no rules") || strings.Contains(err.Error(), "group_by") {
				t.Errorf("%s of a file %q: exit %d (%v), want exit 2 saying the file has no rules\n%s", args[0], body, exitCode(err), err, out)
			}
		}
	}
}

// TestLakeCompactBadFlagIsUsage: `lake compact` with a flag value maintenance refuses
// (a negative --retention) is bad usage, exit 2, as `archive --retention -1h` is, and
// prints no report of a pass that was never attempted (lakehouse.MaintainLake: "rep is
// nil when ... nothing was attempted").
func TestLakeCompactBadFlagIsUsage(t *testing.T) {
	t.Parallel()
	url := manifestOnlyLake(t)
	out, err := run(t, "", "lake", "compact", "--retention", "-1h", "--lake", url)
	if exitCode(err) != 2 || strings.Contains(out, "compacted") {
		t.Errorf("lake compact --retention -1h: exit %d (%v), want 2 and no report of a pass\n%s", exitCode(err), err, out)
	}
	if _, err := run(t, "", "archive", "--retention", "-1h", "--lake", url, "--metrics-addr", ""); exitCode(err) != 2 {
		t.Errorf("archive --retention -1h: exit %d (%v), want 2", exitCode(err), err)
	}
}

// TestBackfillLakeAloneLastFileLost: read alone (no brokers, offsets from --at), a lake whose
// last file of a partition is missing from the bucket lacks offsets below its
// watermark: the counts are incomplete (exit 3, INCOMPLETE on stderr), as for any other
// lost file and as backtest says of the same lake. It failed (exit 1) saying the offsets
// between the lake's watermark and the start were not archived yet and need Kafka.
func TestBackfillLakeAloneLastFileLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	// A minute apart: each event-time hour is a file of its own, the last one offset 599.
	recs := livetest.ProduceEvents(t, b, workload.New(3, workload.Config{Customers: 3, Step: time.Minute}), 600)
	lake, lakeDir := livetest.Archive(t, b, recs)
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{})
	if len(files) < 2 {
		t.Fatalf("want 2 or more lake files, have %d", len(files))
	}
	last := files[len(files)-1]
	if last.EndOffset != snap.Watermark(0) {
		t.Fatalf("the last file ends at %d, the watermark is %d", last.EndOffset, snap.Watermark(0))
	}
	if err := os.Remove(filepath.Join(lakeDir, filepath.FromSlash(last.Path))); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	writeFile(t, rulesFile, "- {id: all, scope: \"*\", threshold: 1, when: {path: $.type, op: exists}}\n")
	out, err := run(t, "", "backfill", "--brokers", "", "--lake", "file://"+lakeDir, "--cache-dir", filepath.Join(dir, "cache"),
		"-f", rulesFile, "--at", fmt.Sprintf("0:%d", len(recs)))
	if exitCode(err) != 3 || !strings.Contains(out, "INCOMPLETE") || !strings.Contains(out, last.Path) {
		t.Errorf("the last lake file lost, Kafka not asked: exit %d (%v), want 3 with offsets %d-%d INCOMPLETE\n%s",
			exitCode(err), err, last.StartOffset, last.EndOffset, out)
	}
}
