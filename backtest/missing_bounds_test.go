package backtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/window"
)

// produceFrom produces n of gen's events on b's events topic.
func produceFrom(t *testing.T, b *kafkatest.Broker, gen *workload.Generator, n int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		ev := gen.Next()
		recs[i] = &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}
	}
	b.Produce(t, recs...)
}

// TestDeletedRangePlacedAtToIsNotMissing: a backtest's range is [From, To), and a
// Deleted range whose earliest time is To exactly belongs to the next range, as an
// event recorded at To does (TestRangeLeavesOutTheEventAtTo). Compaction merges the
// file that noted the range (first row at To) with an earlier one, so the merged file
// is in the range while the Deleted range keeps its own times. No test held the bound:
// lo.After(To) in place of !lo.Before(To) passed every test (mutation hunt), and
// reported offsets 100-149 missing from a range that does not reach them.
func TestDeletedRangePlacedAtToIsNotMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt, _ := lakehousetest.FileBucket(t)
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(3, workload.Config{Customers: 4, Start: time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC), Step: 3 * time.Second})
	produceFrom(t, b, gen, 100) // 0–99
	archiveTo(t, b, bkt, lake, 99)
	produceFrom(t, b, gen, 100) // 100–199; Kafka deletes 100–149 before the archiver reads them
	deleteBefore(t, b, 150)
	archiveTo(t, b, bkt, lake, 199)
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{})
	if len(files) < 2 || len(files[len(files)-1].Deleted) != 1 || files[len(files)-1].Deleted[0] != (lakehouse.OffsetRange{From: 100, To: 149}) {
		t.Fatalf("want the last file to lack offsets 100-149 alone, have %+v", files)
	}
	to := files[len(files)-1].MinTime // offset 150's event
	cfg := backtest.Config{Lake: lake, Rules: parseRules(t), From: files[0].MinTime, To: to}
	check := func(label string) {
		t.Helper()
		rep, err := backtest.Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Missing) != 0 || rep.Events != 100 {
			t.Errorf("%s, range [%s, %s): events %d, missing %+v; want offsets 0-99's 100 events, none missing (100-149 are placed at %s)",
				label, cfg.From.Format(time.TimeOnly), cfg.To.Format(time.TimeOnly), rep.Events, rep.Missing, to.Format(time.TimeOnly))
		}
		// A millisecond later, the range reaches the Deleted range.
		past := cfg
		past.To = to.Add(time.Millisecond)
		rep, err = backtest.Run(ctx, past)
		if err != nil {
			t.Fatal(err)
		}
		want := []contract.MissingRange{{Partition: 0, From: 100, To: 149, Reason: lakehouse.DeletedReason}}
		if mustJSON(t, rep.Missing) != mustJSON(t, want) {
			t.Errorf("%s, range to %s: missing %+v; want %+v", label, past.To.Format(time.RFC3339Nano), rep.Missing, want)
		}
	}
	check("before compaction")
	if rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{}); err != nil || rep.FilesCompacted == 0 {
		t.Fatalf("compacting the lake: %+v, %v", rep, err)
	}
	if snap, err = lake.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if files := snap.Files(lakehouse.Filter{}); len(files) != 1 || !files[0].MinTime.Before(to) {
		t.Fatalf("want one merged file starting before %s, have %+v", to.Format(time.TimeOnly), files)
	}
	check("after compaction")
}

// TestPartitionStateMissingStopsAtEnd: with the lake through offset 99, Kafka's log
// starting at 180 and end 150, PartitionState reports 100-149 as held by neither: what
// it was asked about, not up to Kafka's log start. No test held the bound: held-1 in
// place of min(held, end)-1 passed every test (mutation hunt), and reported 100-179,
// offsets live counts itself.
func TestPartitionStateMissingStopsAtEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt, _ := lakehousetest.FileBucket(t)
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(3, workload.Config{Customers: 4, Start: time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC), Step: 3 * time.Second})
	produceFrom(t, b, gen, 100) // 0–99
	archiveTo(t, b, bkt, lake, 99)
	produceFrom(t, b, gen, 100) // 100–199; Kafka deletes 100–179 before the archiver reads them
	deleteBefore(t, b, 180)
	const end = 150
	h, err := backtest.PartitionState(ctx, backtest.Config{Lake: lake, Brokers: []string{b.Addr}}, parseRules(t)[0], 0, end, func(int64, time.Time, window.Crossing) {})
	if err != nil {
		t.Fatal(err)
	}
	want := []contract.MissingRange{{Partition: 0, From: 100, To: end - 1, Reason: "neither archived nor retained by Kafka"}}
	if mustJSON(t, h.Missing) != mustJSON(t, want) {
		t.Errorf("PartitionState below %d, lake through 99, Kafka's log from 180: missing %+v; want %+v", end, h.Missing, want)
	}
}
