package backtest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestLostFileAtKafkasLogStart: a lake file lost from the bucket whose first offset is
// exactly Kafka's log start is read from Kafka whole: the report is the intact lake's,
// with no missing range. No test held the bound: lo <= log.from in place of lo <
// log.from passed every test (mutation hunt), and reported an empty range (From past
// To) as missing "below Kafka's log start offset".
func TestLostFileAtKafkasLogStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	recs := produceHistory(t, b, 600)
	lake, dir := livetest.Archive(t, b, recs)
	cfg := backtest.Config{Lake: lake, Rules: parseRules(t), Brokers: []string{b.Addr}}
	intact, err := backtest.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{Partitions: []int32{0}})
	if len(files) < 3 {
		t.Fatalf("partition 0 has %d files, want 3 or more", len(files))
	}
	lost := files[len(files)/2]
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(lost.Path))); err != nil {
		t.Fatal(err)
	}
	deleteBefore(t, b, lost.StartOffset)
	rep, err := backtest.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 0 {
		t.Errorf("with %s (offsets %d-%d) lost and Kafka's log starting at %d, missing %+v; want none", lost.Path, lost.StartOffset, lost.EndOffset, lost.StartOffset, rep.Missing)
	}
	if got, want := fmt.Sprint(rep.Events, rep.Rules), fmt.Sprint(intact.Events, intact.Rules); got != want {
		t.Errorf("with %s lost, read from Kafka:\n  %s\nthe intact lake's:\n  %s", lost.Path, got, want)
	}
}
