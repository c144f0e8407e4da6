package backtest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/window"
)

// TestPartitionStateLostFileStraddlingEnd: a windowed rule's hand-off state below end
// (PartitionState) over a lake file lost from the bucket, end falling inside it, reads
// the file's offsets below end from Kafka and none above: those are live's. No test held
// the bound: readLost without its min(hi, r.end) passed every test (mutation hunt), and
// read the lost file whole, counting matches and firing crossings at offsets live
// evaluates itself, twice in all.
func TestPartitionStateLostFileStraddlingEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, lake, dir, files := archivedPartition0(t)
	r := parseRules(t)[0]
	lost := files[len(files)/2]
	end := (lost.StartOffset + lost.EndOffset) / 2
	cfg := backtest.Config{Lake: lake, Brokers: []string{b.Addr}}
	state := func() (*backtest.PartitionHistory, []string) {
		var crossings []string
		h, err := backtest.PartitionState(ctx, cfg, r, 0, end, func(offset int64, at time.Time, c window.Crossing) {
			crossings = append(crossings, fmt.Sprint(offset, c.Customer, c.Start, c.Value))
		})
		if err != nil {
			t.Fatal(err)
		}
		return h, crossings
	}
	intact, intactCrossings := state()
	whole, _ := backtest.PartitionState(ctx, cfg, r, 0, lost.EndOffset+1, func(int64, time.Time, window.Crossing) {})
	if whole == nil || whole.Matches <= intact.Matches {
		t.Fatalf("the rule matches nothing in %s at or above offset %d: the test shows nothing", lost.Path, end)
	}
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(lost.Path))); err != nil {
		t.Fatal(err)
	}
	h, crossings := state()
	if len(h.Missing) != 0 || h.Matches != intact.Matches || !slices.Equal(crossings, intactCrossings) {
		t.Errorf("below offset %d, with %s (offsets %d-%d) lost: %d matches, crossings %v, missing %+v; the intact lake's: %d matches, crossings %v",
			end, lost.Path, lost.StartOffset, lost.EndOffset, h.Matches, crossings, h.Missing, intact.Matches, intactCrossings)
	}
}

// archivedPartition0 is a broker with 1,500 events of history over 2 partitions, all
// archived to a lake in dir, and partition 0's files in it, 3 or more, for a test to
// lose one of.
func archivedPartition0(t *testing.T) (*kafkatest.Broker, *lakehouse.Lake, string, []lakehouse.FileEntry) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	lake, dir := livetest.Archive(t, b, produceHistory(t, b, 1500))
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{Partitions: []int32{0}})
	if len(files) < 3 {
		t.Fatalf("partition 0 has %d files, want 3 or more", len(files))
	}
	return b, lake, dir, files
}
