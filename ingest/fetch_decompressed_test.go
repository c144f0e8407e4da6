package ingest

import (
	"context"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// partitionCounter counts each partition's events handled.
type partitionCounter struct {
	nopHandler
	mu      sync.Mutex
	handled map[int32]int
}

func (h *partitionCounter) HandleBatch(b *Batch) {
	n := 0
	for range b.Events() {
		n++
	}
	h.mu.Lock()
	h.handled[b.Partition] += n
	h.mu.Unlock()
}

func (h *partitionCounter) count(p int32) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.handled[p]
}

// TestFetchIsBoundedDecompressed: --fetch-max-bytes bounds a fetch as stored, and a
// zstd batch of repeated bytes decompresses a thousandfold: before the bound, three
// records of 8 MiB (a few KB as stored) arrived as 24 MiB in hand from fetches of 1
// MiB, the client allowing a gigabyte per batch (a resource hunt's test held 128 MiB
// against --max-queued-bytes 1 MiB). Past MaxDecompressedBatchBytes the partition
// stops at the batch, said so, while the others are read; started again with a
// larger bound, the consumer reads the batch and its events: nothing was skipped.
func TestFetchIsBoundedDecompressed(t *testing.T) {
	t.Parallel()
	const records, size = 3, 8 << 20
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	pcl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.ZstdCompression()), kgo.ProducerBatchMaxBytes(64<<20), kgo.MaxBufferedBytes(256<<20))
	if err != nil {
		t.Fatal(err)
	}
	value := make([]byte, size)
	value[0], value[size-1] = '"', '"'
	for i := 1; i < size-1; i++ {
		value[i] = '0'
	}
	for range records {
		if err := pcl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Partition: 0, Key: []byte("c"), Value: value}).FirstErr(); err != nil {
			t.Fatalf("producing a %d-byte zstd record: %v", size, err)
		}
	}
	for range 5 {
		if err := pcl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Partition: 1, Key: []byte("c"), Value: []byte(`{"a":1}`)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	pcl.Close()

	consume := func(bound int, until func(h *partitionCounter, stopped map[int32]int64) bool) (*partitionCounter, map[int32]int64, int64) {
		h := &partitionCounter{handled: map[int32]int{}}
		var mu sync.Mutex
		stopped := map[int32]int64{}
		var most int64
		var ec *EventConsumer
		ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: c.ListenAddrs()}, Topics: Topics{Events: "events"}, Group: "g",
			FetchMaxBytes: 1 << 20, MaxQueuedBytes: 1 << 20, MaxDecompressedBatchBytes: bound, CommitInterval: 10_000_000,
			OnBatchTooLarge: func(p int32, offset int64) { mu.Lock(); stopped[p] = offset; mu.Unlock() }}, h)
		if err != nil {
			t.Fatal(err)
		}
		if err := runUntil(ec, func() bool {
			ec.inflight.mu.Lock()
			most = max(most, ec.inflight.bytes)
			ec.inflight.mu.Unlock()
			mu.Lock()
			defer mu.Unlock()
			return until(h, stopped)
		}); err != nil {
			t.Fatal(err)
		}
		return h, stopped, most
	}
	h, stopped, most := consume(4<<20, func(h *partitionCounter, stopped map[int32]int64) bool {
		_, ok := stopped[0]
		return ok && h.count(1) == 5
	})
	if off, ok := stopped[0]; !ok || off != 0 || h.count(0) != 0 || h.count(1) != 5 || most > 1<<20 {
		t.Fatalf("bound 4 MiB: partition 0 stopped %v at %d, %d events of it handled (want stopped at 0, none); partition 1's %d of 5; most bytes in hand %d",
			ok, off, h.count(0), h.count(1), most)
	}
	h, stopped, _ = consume(16<<20, func(h *partitionCounter, _ map[int32]int64) bool { return h.count(0) == records })
	if h.count(0) != records || len(stopped) != 0 {
		t.Fatalf("bound 16 MiB, started again: %d of partition 0's %d events handled, stopped %v", h.count(0), records, stopped)
	}
}
