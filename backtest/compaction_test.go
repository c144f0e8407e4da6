package backtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestCompactionKeepsBacktestMissing: a backtest over a lake gives the same
// answer before and after Lake.Maintain merges its small files. Here a small file
// carries Deleted offsets (Kafka's retention deleted them before the archiver read
// them) and all its events lie before the backtest's From; a later small file of the
// same hour holds the events of the range. Before compaction the backtest reports
// nothing missing; the merged file's time range reaches into [From, To) and carries
// the Deleted range, which the same backtest reported missing (INCOMPLETE) until the
// range kept the times of the file that noted it.
func TestCompactionKeepsBacktestMissing(t *testing.T) {
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt, _ := lakehousetest.FileBucket(t)
	lake := lakehouse.NewLake(bkt, nil)
	start := time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)
	gen := workload.New(3, workload.Config{Customers: 4, Start: start, Step: 3 * time.Second})
	var times []time.Time
	produce := func(n int) {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			ev := gen.Next()
			times = append(times, ev.Time)
			recs[i] = &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}
		}
		b.Produce(t, recs...)
	}
	archive := func(upTo int64) { archiveTo(t, b, bkt, lake, upTo) }
	produce(100) // 0–99
	archive(99)
	produce(100) // 100–199; Kafka deletes 100–149 before the archiver reads them
	deleteBefore(t, b, 150)
	archive(199)
	produce(100) // 200–299
	archive(299)

	// The backtest's range starts at offset 250's event: the file carrying the Deleted
	// range 100–149 ends (offset 199) well before it.
	cfg := backtest.Config{Lake: lake, Rules: parseRules(t), From: times[250], To: times[299].Add(time.Second)}
	logFiles := func(label string) {
		snap, err := lake.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range snap.Files(lakehouse.Filter{}) {
			t.Logf("%s: file [%d, %d] times %s–%s deleted %v", label, f.StartOffset, f.EndOffset,
				f.MinTime.Format(time.TimeOnly), f.MaxTime.Format(time.TimeOnly), f.Deleted)
		}
	}
	logFiles("before")
	before, err := backtest.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesCompacted == 0 {
		t.Fatalf("compaction merged nothing: %+v", rep)
	}
	logFiles("after")
	after, err := backtest.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if bj, aj := mustJSON(t, before.Rules), mustJSON(t, after.Rules); bj != aj {
		t.Errorf("rule figures changed by compaction:\nbefore %s\nafter  %s", bj, aj)
	}
	if bj, aj := mustJSON(t, before.Missing), mustJSON(t, after.Missing); bj != aj {
		t.Errorf("missing changed by compaction (same lake content, same range [%s, %s)):\nbefore %s\nafter  %s",
			cfg.From.Format(time.TimeOnly), cfg.To.Format(time.TimeOnly), bj, aj)
	}
}
