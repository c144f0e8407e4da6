package lakehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestArchiverStopsAtABatchPastMaxDecompressedBatchBytes: a zstd batch of repeated
// bytes decompresses a thousandfold, and the standalone archiver read with franz-go's
// own bound, 1 GiB a batch, saying nothing. Past MaxDecompressedBatchBytes its
// partition stops at the batch, nothing of it archived nor skipped, the reach counted
// in hindsight_limit_reached_total and the bound shown in hindsight_limit, while the
// other partitions are archived.
func TestArchiverStopsAtABatchPastMaxDecompressedBatchBytes(t *testing.T) {
	t.Parallel()
	const size, bound = 4 << 20, 2 << 20
	b, bkt, lake := brokerAndLake(t, 2, "mem")
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.ZstdCompression()),
		kgo.ProducerBatchMaxBytes(16<<20))
	value := make([]byte, size)
	value[0], value[size-1] = '"', '"'
	for i := 1; i < size-1; i++ {
		value[i] = '0'
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pcl.ProduceSync(ctx, &kgo.Record{Topic: "events", Partition: 0, Key: []byte("c"), Value: value}).FirstErr(); err != nil {
		t.Fatalf("producing a %d-byte zstd record: %v", size, err)
	}
	for range 5 {
		if err := pcl.ProduceSync(ctx, &kgo.Record{Topic: "events", Partition: 1, Key: []byte("c"), Value: []byte(`{"a":1}`)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	cfg, reg := meteredArchiverConfig(b, bkt, "decompressed")
	cfg.MaxDecompressedBatchBytes = bound
	stop := startArchiver(t, cfg)
	defer stop()
	var rows [2]int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap, err := lake.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rows = [2]int64{}
		for _, f := range snap.Files(lakehouse.Filter{}) {
			rows[f.Partition] += f.Rows
		}
		reached := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", lakehouse.LimitDecompressedBatch)
		if reached == 1 && rows[1] == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: limit reached %v times (want 1), partition 1 archived %d rows of 5", reached, rows[1])
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rows[0] != 0 {
		t.Errorf("partition 0 archived %d rows past a batch it could not read", rows[0])
	}
	if got := promtest.Value(t, reg, "hindsight_limit", "name", lakehouse.LimitDecompressedBatch); got != bound {
		t.Errorf(`hindsight_limit{name="max_decompressed_batch_bytes"} = %v, want %d`, got, bound)
	}
}
