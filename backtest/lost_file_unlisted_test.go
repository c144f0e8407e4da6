package backtest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/window"
)

// TestPartitionStateLostFileOfAnUnlistedPartition: a lake file lost from the bucket, of
// a partition Kafka does not list, is reported missing with that reason. Its reason
// read "below Kafka's log start offset <end> (retention)": the partition not listed
// was taken for a log holding nothing from end on, and the reason named a log start
// and a retention that were never seen.
func TestPartitionStateLostFileOfAnUnlistedPartition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, lake, dir, files := archivedPartition0(t)
	r := parseRules(t)[0]
	lost := files[len(files)/2]
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(lost.Path))); err != nil {
		t.Fatal(err)
	}
	listEndsWithout(b, "events", func() bool { return true })
	end := files[len(files)-1].EndOffset + 1
	h, err := backtest.PartitionState(ctx, backtest.Config{Lake: lake, Brokers: []string{b.Addr}}, r, 0, end, func(int64, time.Time, window.Crossing) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Missing) != 1 || h.Missing[0].From != lost.StartOffset || h.Missing[0].To != lost.EndOffset ||
		!strings.Contains(h.Missing[0].Reason, "Kafka does not list") || strings.Contains(h.Missing[0].Reason, "retention") {
		t.Errorf("%s (offsets %d-%d) lost, Kafka not listing partition 0: missing %+v; want that range, the reason saying Kafka does not list the partition (not retention)",
			lost.Path, lost.StartOffset, lost.EndOffset, h.Missing)
	}
}
