package ingest

import (
	"bytes"
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// eventsHandler reads every batch's events, as live's handler does.
type eventsHandler struct {
	nopHandler
	handled atomic.Int64
}

func (h *eventsHandler) HandleBatch(b *Batch) {
	for range b.Events() {
	}
	h.handled.Add(int64(b.Len()))
}

// TestPartitionDocumentsKeepTheirLargestEvent: each owned partition keeps one
// jsonpath.Document (partState.doc), reused for every event of the partition. Its
// index kept the capacity of the largest event the partition ever saw (about 20 bytes
// per JSON value), and it kept the last event's bytes, which alias their fetch: one
// event of 400 KB of small array elements per partition, then only two-byte events,
// left 81 MiB held by 16 partitions (a resource hunt's test), 10-20 MB per partition
// at Kafka's 1 MB record bound. The consumer now releases the Document after each
// batch (Document.Release), which drops an index grown past what ordinary events need.
//
// Not parallel: it measures the heap, which parallel tests change.
func TestPartitionDocumentsKeepTheirLargestEvent(t *testing.T) {
	const partitions, elements = 16, 200_000
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	pcl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	big := append(append([]byte("["), bytes.Repeat([]byte("0,"), elements-1)...), "0]"...)
	for p := range int32(partitions) {
		if err := pcl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Partition: p, Key: []byte("c"), Value: big}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if err := pcl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Partition: p, Key: []byte("c"), Value: []byte(`{}`)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	pcl.Close()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h := &eventsHandler{}
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: c.ListenAddrs()}, Topics: Topics{Events: "events"}, Group: "g", Workers: 2}, h)
	if err != nil {
		t.Fatal(err)
	}
	measured := false
	if err := runUntil(ec, func() bool {
		if h.handled.Load() < partitions*11 {
			return false
		}
		time.Sleep(200 * time.Millisecond)
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		measured = true
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if !measured {
		t.Fatalf("handled %d of %d events", h.handled.Load(), partitions*11)
	}
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d partitions, each one event of %d bytes (%d array elements) then 10 events of 2 bytes: heap after every event was handled (GC'd) %d MiB above before the consumer started, %.1f MiB per partition",
		partitions, len(big), elements, grew>>20, float64(grew)/float64(partitions)/(1<<20))
	if grew > 32<<20 {
		t.Fatalf("the consumer holds %d MiB once its partitions' events are only 2 bytes: each partition's Document keeps the index of the largest event it saw (no flag, no metric)", grew>>20)
	}
}
