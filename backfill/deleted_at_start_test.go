package backfill

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDeletedRangeFromTheJobsStartIsNotMissing: offsets Kafka deleted unarchived from
// exactly the job's Start on are live's to count (or not), not the job's: with a
// compacted file lacking 100-149, a job starting at 100 is complete, one starting at
// 101 misses offset 100 alone. No test held the bound: d.From <= pl.start in place of
// d.From < pl.start passed every test (mutation hunt), and made the job at 100
// Incomplete with the empty range 100-99.
func TestDeletedRangeFromTheJobsStartIsNotMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(3, workload.Config{Customers: 4, Start: time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC), Step: 3 * time.Second})
	var h history
	produceN := func(n int) {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			ev := gen.Next()
			recs[i] = &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}
		}
		h = append(h, b.Produce(t, recs...)...)
	}
	produceN(100) // 0–99
	archive(t, b, bkt, lake, h)
	produceN(100) // 100–199; Kafka deletes 100–149 before the archiver reads them
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: "events", Partition: 0, At: 150})
	if resp, err := kadm.NewClient(b.Client(t)).DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
	archive(t, b, bkt, lake, h)
	// Merged, the Deleted range starts inside a file that starts below the job's Start.
	if rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{}); err != nil || rep.FilesCompacted == 0 {
		t.Fatalf("compacting the lake: %+v, %v", rep, err)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if files := snap.Files(lakehouse.Filter{}); len(files) != 1 || files[0].StartOffset != 0 || len(files[0].Deleted) != 1 || files[0].Deleted[0].From != 100 || files[0].Deleted[0].To != 149 {
		t.Fatalf("want one file from offset 0 lacking 100-149, have %+v", files)
	}
	// What the job can count: the records the lake and Kafka hold.
	held := slices.DeleteFunc(slices.Clone(h), func(rec *kgo.Record) bool { return rec.Offset >= 100 && rec.Offset < 150 })
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir(), Brokers: []string{b.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	r, err := rule.ParseRule([]byte(`{"id":"x","scope":"*","threshold":1000,"when":{"path":"$.type","op":"exists"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		start int64
		want  string
	}{
		{100, "[]"},
		{101, fmt.Sprint([]Gap{{Partition: 0, From: 100, To: 100, Reason: lakehouse.DeletedReason}})},
	} {
		job := Job{Rule: r, Start: map[int32]int64{0: c.start}}
		res, err := runner.Run(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(res.Missing); got != c.want || res.Incomplete() != (c.want != "[]") {
			t.Errorf("job starting at %d: missing %s (incomplete %v); want %s", c.start, got, res.Incomplete(), c.want)
		}
		if want := oracle(held, job); !maps.Equal(res.Counts, want) {
			t.Errorf("job starting at %d: counts %v, oracle %v", c.start, res.Counts, want)
		}
	}
}
