package backtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/window"
)

// TestBacktestReadsWhatRetentionLeft: once the lake's retention dropped a partition's
// first files, a backtest reads those offsets from Kafka if it still holds them (as
// backfill does), and names what neither holds as not counted, for any customer,
// unless the backtest's time range starts after what was dropped. The figures are the
// oracle's over the records still held.
func TestBacktestReadsWhatRetentionLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	recs := produceHistory(t, b, 2000)
	lake, _ := livetest.Archive(t, b, recs)
	first := recs[0].Timestamp
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{Retention: 24 * time.Hour, DeleteDelay: -1, CompactSmallBytes: -1,
		Now: func() time.Time { return first.Add(50*time.Minute + 24*time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	earliest := map[int32]int64{}
	var lakeFrom time.Time // after every partition's first event the lake holds
	for _, st := range snap.Partitions() {
		earliest[st.Partition] = st.Earliest
		if st.EarliestTime.After(lakeFrom) {
			lakeFrom = st.EarliestTime
		}
	}
	if rep.FilesExpired == 0 || len(earliest) != 3 {
		t.Fatalf("retention dropped %d files; partitions %v: the test tests little", rep.FilesExpired, earliest)
	}
	held := func(below map[int32]int64) []*kgo.Record {
		var out []*kgo.Record
		for _, r := range recs {
			if r.Offset >= below[r.Partition] {
				out = append(out, r)
			}
		}
		return out
	}
	gone := func(below map[int32]int64, reason string) []contract.MissingRange {
		var out []contract.MissingRange
		for p := range int32(3) {
			if below[p] > 0 {
				out = append(out, contract.MissingRange{Partition: p, From: 0, To: below[p] - 1, Reason: reason})
			}
		}
		return out
	}
	lakeOnly := "not in the lake (dropped by its retention, or never archived), and no brokers to read them from"
	neither := "neither in the lake (dropped by its retention, or never archived) nor retained by Kafka"
	rules := parseRules(t)
	check := func(name string, cfg backtest.Config, events []*kgo.Record, missing []contract.MissingRange) {
		t.Helper()
		cfg.Lake, cfg.Rules = lake, rules
		got, err := backtest.Run(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := oracle(t, rules, events, cfg.From, time.Time{}, cfg.Customer)
		if !slices.Equal(got.Missing, missing) {
			t.Errorf("%s: not counted %+v, want %+v", name, got.Missing, missing)
		}
		for _, r := range got.Rules {
			w := want[r.ID]
			if r.Matches != w.Matches || r.Firings != w.Firings || mustJSON(t, r.PerDay) != mustJSON(t, w.PerDay) {
				t.Errorf("%s: rule %s: %d matches, %d firings %s; want %d, %d %s", name, r.ID, r.Matches, r.Firings, mustJSON(t, r.PerDay), w.Matches, w.Firings, mustJSON(t, w.PerDay))
			}
		}
	}
	// The lake alone: what it holds, and the rest named, unless the time range starts
	// after the lake's first event.
	check("lake only", backtest.Config{}, held(earliest), gone(earliest, lakeOnly))
	check("lake only, one customer", backtest.Config{Customer: "c-0001"}, held(earliest), gone(earliest, lakeOnly))
	check("lake only, from its first event", backtest.Config{From: lakeFrom}, held(earliest), nil)
	// Kafka still holds every record: all of history counts, the head read from Kafka.
	check("with Kafka", backtest.Config{Brokers: []string{b.Addr}}, recs, nil)

	// Kafka's retention passes part of what the lake's dropped: that part is gone.
	kept := map[int32]int64{}
	del := kadm.Offsets{}
	for p, e := range earliest {
		kept[p] = e / 2
		del.Add(kadm.Offset{Topic: "events", Partition: p, At: kept[p]})
	}
	if resp, err := kadm.NewClient(b.Client(t)).DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
	check("with Kafka after its retention", backtest.Config{Brokers: []string{b.Addr}}, held(kept), gone(kept, neither))

	// The hand-off's history replay reads the same head; what neither holds is history
	// gone by retention (as backfill counts it), not missing.
	r := rules[0]
	for p, e := range earliest {
		end := snap.Watermark(p) + 1
		h, err := backtest.PartitionState(ctx, backtest.Config{Lake: lake, Brokers: []string{b.Addr}}, r, p, end, func(int64, time.Time, window.Crossing) {})
		if err != nil {
			t.Fatal(err)
		}
		var part []*kgo.Record
		for _, rec := range held(kept) {
			if rec.Partition == p {
				part = append(part, rec)
			}
		}
		if want := oracle(t, rules[:1], part, time.Time{}, time.Time{}, "")[r.ID].Matches; h.Matches != want || len(h.Missing) != 0 || h.HeldFrom != kept[p] {
			t.Errorf("partition %d (lake from %d, Kafka from %d): the replay matched %d, missing %+v, held from %d; want %d, none, from %d",
				p, e, kept[p], h.Matches, h.Missing, h.HeldFrom, want, kept[p])
		}
	}
}

// TestBacktestTailDeletedByKafka: offsets above the lake's watermark that Kafka's
// retention deleted before the archiver read them are in neither, and the backtest
// says so in Missing, as backfill and PartitionState do; Run read the tail from the
// log's start and reported nothing missing.
func TestBacktestTailDeletedByKafka(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	recs := produceHistory(t, b, 600)
	lake, _ := livetest.Archive(t, b, recs)
	more := eventsAfter(recs[len(recs)-1].Timestamp, 600)
	more = b.Produce(t, more...)
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Kafka's retention deletes, per partition, up to 100 records past the lake's
	// watermark: records the lake never had.
	del := kadm.Offsets{}
	cut := map[int32]int64{}
	for _, st := range snap.Partitions() {
		cut[st.Partition] = st.Watermark + 101
		del.Add(kadm.Offset{Topic: "events", Partition: st.Partition, At: cut[st.Partition]})
	}
	if resp, err := kadm.NewClient(b.Client(t)).DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
	rep, err := backtest.Run(ctx, backtest.Config{Lake: lake, Rules: parseRules(t), Brokers: []string{b.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	var unread int64
	for _, r := range more {
		if r.Offset < cut[r.Partition] {
			unread++
		}
	}
	t.Logf("events %d, tail records %d, records deleted by Kafka unarchived %d, missing %+v", rep.Events, rep.TailRecords, unread, rep.Missing)
	for _, st := range snap.Partitions() {
		found := false
		for _, m := range rep.Missing {
			if m.Partition == st.Partition && m.From <= st.Watermark+1 && m.To >= cut[st.Partition]-1 {
				found = true
			}
		}
		if !found {
			t.Errorf("partition %d: offsets %d-%d are in neither the lake nor Kafka, yet not in Missing %+v",
				st.Partition, st.Watermark+1, cut[st.Partition]-1, rep.Missing)
		}
	}
}

// TestPartitionStateDeletedBelowEnd: a lake file whose leading offsets the broker
// deleted unarchived starts below end though its first row is past it; PartitionState
// reports those offsets missing. It chose files by their first row, so it missed them
// and handed over a state lacking them without saying so.
func TestPartitionStateDeletedBelowEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt, _ := lakehousetest.FileBucket(t)
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(3, workload.Config{Customers: 4, Start: time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC), Step: 3 * time.Second})
	produce := func(n int) []*kgo.Record {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			ev := gen.Next()
			recs[i] = &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}
		}
		return b.Produce(t, recs...)
	}
	archive := func(upTo int64) { archiveTo(t, b, bkt, lake, upTo) }
	produce(100) // 0–99
	archive(99)
	produce(100) // 100–199; Kafka deletes 100–149 before the archiver reads them
	deleteBefore(t, b, 150)
	archive(199)
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range snap.Files(lakehouse.Filter{}) {
		t.Logf("file [%d, %d] rows %d–%d deleted %v", f.StartOffset, f.EndOffset, f.MinOffset, f.MaxOffset, f.Deleted)
	}
	r := parseRules(t)[0]
	// live counts from 120: 100–119 are history Kafka deleted unarchived
	const end = 120
	h, err := backtest.PartitionState(ctx, backtest.Config{Lake: lake, Brokers: []string{b.Addr}}, r, 0, end, func(int64, time.Time, window.Crossing) {})
	if err != nil {
		t.Fatal(err)
	}
	covered := false
	for _, m := range h.Missing {
		if m.From <= 100 && m.To >= end-1 {
			covered = true
		}
		// Offsets at and past end are live's, not history's: a deleted range crossing
		// end is missing up to end-1 only (mutation hunt: To: min(d.To, end-1) -> d.To
		// said 100-149, and the check above took it).
		if m.To >= end {
			t.Errorf("PartitionState below %d: missing range %+v reaches past end-1", end, m)
		}
	}
	if !covered {
		t.Errorf("PartitionState below %d: missing %+v, held from %d; offsets 100–%d are in neither the lake nor Kafka", end, h.Missing, h.HeldFrom, end-1)
	}
	// Once compaction merged the files, the deleted range starts inside one; live
	// counting from 100, where it starts, misses nothing below.
	if rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{}); err != nil || rep.FilesCompacted == 0 {
		t.Fatalf("compacting the lake: %+v, %v", rep, err)
	}
	h, err = backtest.PartitionState(ctx, backtest.Config{Lake: lake, Brokers: []string{b.Addr}}, r, 0, 100, func(int64, time.Time, window.Crossing) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Missing) != 0 {
		t.Errorf("PartitionState below 100 of the compacted lake: missing %+v; offsets 0–99 are all in it", h.Missing)
	}
}

// TestBacktestReadsLostFilesFromKafka: a lake file the manifest lists but the bucket
// lost (deleted by hand) is read from Kafka while Kafka holds its offsets, as backfill
// reads it: the report is the intact lake's. Without brokers, or once Kafka's
// retention passed them, its offsets are Missing, naming the file. A backtest used to
// fail on the missing object.
func TestBacktestReadsLostFilesFromKafka(t *testing.T) {
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
	rep, err := backtest.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(rep.Events, rep.Rules, rep.Missing), fmt.Sprint(intact.Events, intact.Rules, intact.Missing); got != want {
		t.Errorf("with %s lost, read from Kafka:\n  %s\nthe intact lake's:\n  %s", lost.Path, got, want)
	}
	missing := func(rep *contract.Backtest) bool {
		for _, m := range rep.Missing {
			if m.Partition == 0 && m.From == lost.StartOffset && m.To == lost.EndOffset && strings.Contains(m.Reason, lost.Path) {
				return true
			}
		}
		return false
	}
	cfg.Brokers = nil
	if rep, err = backtest.Run(ctx, cfg); err != nil || !missing(rep) {
		t.Errorf("without brokers: err %v, missing %+v; want offsets %d-%d of %s", err, rep.Missing, lost.StartOffset, lost.EndOffset, lost.Path)
	}
	cfg.Brokers = []string{b.Addr}
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: "events", Partition: 0, At: lost.EndOffset + 1})
	if resp, err := kadm.NewClient(b.Client(t)).DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
	if rep, err = backtest.Run(ctx, cfg); err != nil || !missing(rep) {
		t.Errorf("past Kafka's retention: err %v, missing %+v; want offsets %d-%d of %s", err, rep.Missing, lost.StartOffset, lost.EndOffset, lost.Path)
	}
}

// archiveTo runs an archiver of b's events into bkt until lake's partition 0 holds
// offset upTo, then stops it: files of small, separate runs.
func archiveTo(t *testing.T, b *kafkatest.Broker, bkt lakehouse.Bucket, lake *lakehouse.Lake, upTo int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(ctx, lakehouse.ArchiverConfig{Brokers: []string{b.Addr}, Bucket: bkt,
			RollAge: 50 * time.Millisecond, RollBytes: 64 << 10, CompactInterval: -1})
	}()
	poll.Until(t, 60*time.Second, "the lake to hold every record", func() bool {
		snap, err := lake.Snapshot(context.Background())
		return err == nil && snap.Watermark(0) >= upTo
	})
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("archiver: %v", err)
	}
}

// deleteBefore moves the start of partition 0 of b's events topic to at, as the
// topic's retention would.
func deleteBefore(t *testing.T, b *kafkatest.Broker, at int64) {
	t.Helper()
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: "events", Partition: 0, At: at})
	if resp, err := kadm.NewClient(b.Client(t)).DeleteRecords(context.Background(), del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
}

// TestBacktestTailDeletedUpToTheWatermark: Kafka's retention deleted exactly the
// records the lake archived, so its log starts at the first offset the lake lacks:
// nothing is missing (the tail is read from there), and no empty range (From past To)
// is reported for the offsets between the two.
func TestBacktestTailDeletedUpToTheWatermark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	recs := produceHistory(t, b, 600)
	lake, _ := livetest.Archive(t, b, recs)
	more := b.Produce(t, eventsAfter(recs[len(recs)-1].Timestamp, 600)...)
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	del := kadm.Offsets{}
	for _, st := range snap.Partitions() {
		del.Add(kadm.Offset{Topic: "events", Partition: st.Partition, At: st.Through() + 1})
	}
	if resp, err := kadm.NewClient(b.Client(t)).DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
	rep, err := backtest.Run(ctx, backtest.Config{Lake: lake, Rules: parseRules(t), Brokers: []string{b.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 0 || rep.TailRecords != int64(len(more)) {
		t.Errorf("Kafka's log starting right past what the lake accounts for: missing %+v, tail records %d; want none missing, the %d records produced after archiving read from Kafka",
			rep.Missing, rep.TailRecords, len(more))
	}
}
