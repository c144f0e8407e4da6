package backtest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestLostFileWhollyBelowKafkasLogStart: a lake file lost from the bucket whose
// offsets Kafka's retention deleted, with Kafka's log starting past the next file too,
// is missing for its own offsets, not up to the log start: the next file's offsets
// are in the lake and counted. The missing range's end was held only where the log
// started right after the lost file (TestBacktestReadsLostFilesFromKafka): log.from-1
// in place of min(hi, log.from)-1 passed every test (mutation hunt), and reported the
// following file's offsets, read from the lake, as missing too.
func TestLostFileWhollyBelowKafkasLogStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	recs := produceHistory(t, b, 600)
	lake, dir := livetest.Archive(t, b, recs)
	cfg := backtest.Config{Lake: lake, Rules: parseRules(t), Brokers: []string{b.Addr}}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{Partitions: []int32{0}})
	if len(files) < 3 {
		t.Fatalf("partition 0 has %d files, want 3 or more", len(files))
	}
	lost, next := files[len(files)/2-1], files[len(files)/2]
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(lost.Path))); err != nil {
		t.Fatal(err)
	}
	deleteBefore(t, b, next.EndOffset+1)
	rep, err := backtest.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 1 || rep.Missing[0].Partition != 0 || rep.Missing[0].From != lost.StartOffset || rep.Missing[0].To != lost.EndOffset ||
		!strings.Contains(rep.Missing[0].Reason, lost.Path) {
		t.Errorf("with %s (offsets %d-%d) lost and Kafka's log starting at %d, past %s (offsets %d-%d): missing %+v; want offsets %d-%d of %s alone",
			lost.Path, lost.StartOffset, lost.EndOffset, next.EndOffset+1, next.Path, next.StartOffset, next.EndOffset, rep.Missing, lost.StartOffset, lost.EndOffset, lost.Path)
	}
}
