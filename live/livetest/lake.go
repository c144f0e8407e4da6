package livetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// Archive runs the real archiver from b's events topic into a new file lake until the
// lake's watermark of each partition reaches the last of recs (the records it keeps
// no row of, which live dead-letters, included), then stops it. It returns the lake
// and its directory. The archiver types the JSONPaths typed (lakehouse.ColumnSet).
func Archive(t testing.TB, b *kafkatest.Broker, recs []*kgo.Record, typed ...string) (*lakehouse.Lake, string) {
	t.Helper()
	bkt, dir := lakehousetest.FileBucket(t)
	lake := lakehouse.NewLake(bkt, nil)
	cols := lakehouse.NewColumnSet(len(typed))
	if err := cols.Set(typed); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(ctx, lakehouse.ArchiverConfig{Brokers: []string{b.Addr}, Bucket: bkt, Columns: cols,
			RollAge: 50 * time.Millisecond, RollBytes: 64 << 10, CompactInterval: -1})
	}()
	want := map[int32]int64{}
	for _, r := range recs {
		want[r.Partition] = max(want[r.Partition], r.Offset)
	}
	poll.Until(t, 60*time.Second, "the lake to hold every record", func() bool {
		snap, err := lake.Snapshot(context.Background())
		if err != nil {
			return false
		}
		for p, off := range want {
			if snap.Watermark(p) < off {
				return false
			}
		}
		return true
	})
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("archiver: %v", err)
	}
	return lake, dir
}
