package backfill

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestLakeRetentionDroppedEveryFileKafkaHoldsAll: the lake's retention dropped every
// file of a partition (its state then lists no file, Earliest one past the watermark)
// while Kafka still holds the whole log: the job reads all of it from Kafka, the
// watermark's own offset too, and counts every event. (Mutation hunt: partPlan.holes
// taking the watermark, not the offset after it, as the first offset above the
// archived ones left the watermark's offset out of every read, counting 4 of 5 events
// and saying nothing, and no test saw it: the watermark's offset is in a file unless
// retention dropped that file.)
func TestLakeRetentionDroppedEveryFileKafkaHoldsAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := range 5 {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"login.failed"}`), Timestamp: t0.Add(time.Duration(i) * time.Second)})
	}
	h := history(b.Produce(t, recs...))
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	archive(t, b, bkt, lake, h)
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{Retention: time.Hour, DeleteDelay: -1,
		Now: func() time.Time { return time.Now().Add(48 * time.Hour) }})
	if err != nil || rep.FilesExpired == 0 {
		t.Fatalf("retention: %d files expired, %v", rep.FilesExpired, err)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := snap.Partition(0)
	if files := snap.Files(lakehouse.Filter{}); !ok || len(files) != 0 || st.Watermark != 4 || st.Earliest != 5 {
		t.Fatalf("after retention: partition state %+v (listed %v), %d files; want watermark 4, earliest 5, no file", st, ok, len(files))
	}
	runner, err := NewRunner(Config{Lake: lake, Brokers: []string{b.Addr}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	job := Job{Rule: benchRule(t, "any", "*", `{"path":"$.type"}`), Start: h.endOffsets(), AsOf: h[len(h)-1].Timestamp}
	res, err := runner.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"c-1": 5}
	if !maps.Equal(res.Counts, want) || res.TailRecords != 5 || res.Incomplete() || len(res.Truncated) != 0 {
		t.Errorf("counts %v from %d tail records, missing %v, truncated %v; want %v from 5, none missing or truncated",
			res.Counts, res.TailRecords, res.Missing, res.Truncated, want)
	}
}
