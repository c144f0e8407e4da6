package backfill

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestJobStartingAtZeroNeedsNoKafka: a job whose start is offset 0 (a partition live
// counts from its first record) has no history to read: without brokers, over a lake
// that never had the partition, it counts nothing and succeeds. (Mutation hunt:
// readHoles keeping partitions that start at 0, pl.start <= 0 -> < 0, failed the job
// with ErrTailUnavailable, and no test saw it.)
func TestJobStartingAtZeroNeedsNoKafka(t *testing.T) {
	t.Parallel()
	runner, err := NewRunner(Config{Lake: lakehouse.NewLake(lakehouse.NewMemBucket(), nil), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	res, err := runner.Run(context.Background(), Job{Rule: benchRule(t, "any", "*", `{"path":"$.type"}`), Start: map[int32]int64{0: 0}, AsOf: time.Now()})
	if err != nil {
		t.Fatalf("a job starting at offset 0 without brokers: %v", err)
	}
	if len(res.Counts) != 0 || res.Incomplete() || len(res.Truncated) != 0 || res.TailRecords != 0 {
		t.Errorf("counts %v, missing %v, truncated %v, %d tail records; want nothing", res.Counts, res.Missing, res.Truncated, res.TailRecords)
	}
}

// TestLostLastFileAtTheWatermarkWithoutBrokersIsMissing: the lake's last file holds one
// offset, the watermark's, and is gone from the bucket; without brokers, that offset
// is history the lake lost (Missing, naming the file), not a tail not archived yet
// (ErrTailUnavailable). (Mutation hunt: readHoles' h.from > wm -> >= took it for the
// tail, and no test saw it.)
func TestLostLastFileAtTheWatermarkWithoutBrokersIsMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	rec := func(i int) *kgo.Record {
		return &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"login.failed"}`), Timestamp: t0.Add(time.Duration(i) * time.Second)}
	}
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	h := history(b.Produce(t, rec(0), rec(1), rec(2)))
	archive(t, b, bkt, lake, h)
	h = append(h, b.Produce(t, rec(3))...)
	archive(t, b, bkt, lake, h)
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{})
	last := files[len(files)-1]
	if last.StartOffset != 3 || last.EndOffset != 3 || snap.Watermark(0) != 3 {
		t.Fatalf("the lake's files %+v, watermark %d: want the last file to hold offset 3 alone, the watermark", files, snap.Watermark(0))
	}
	if err := bkt.Delete(ctx, last.Path); err != nil {
		t.Fatal(err)
	}
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	res, err := runner.Run(ctx, Job{Rule: benchRule(t, "any", "*", `{"path":"$.type"}`), Start: h.endOffsets(), AsOf: h[len(h)-1].Timestamp})
	if err != nil {
		t.Fatalf("the lost file at the watermark, no brokers: %v; want it missing", err)
	}
	if res.Counts["c-1"] != 3 || len(res.Missing) != 1 || res.Missing[0].From != 3 || res.Missing[0].To != 3 || !strings.Contains(res.Missing[0].Reason, last.Path) {
		t.Errorf("counts %v, missing %v; want c-1 counted 3 times, offset 3 missing with %s named", res.Counts, res.Missing, last.Path)
	}
}
