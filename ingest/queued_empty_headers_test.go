package ingest

import (
	"context"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestQueuedBytesCountEmptyHeaders: --max-queued-bytes counts a header's key and
// value (TestQueuedBytesCountHeaders) but nothing for the header itself, while each
// one fetched is a kgo.RecordHeader held in memory (40 bytes on 64-bit) and 2 bytes on
// the wire. Events of 100,000 empty headers each (200 KB on the wire, which the broker
// takes as readily as a 200 KB value) count 3 bytes apiece (key "c", value {}), hold
// 4 MB each, and pass a 100,000-byte bound as if empty: the poll loop takes every
// fetch while the worker holds the first. At the defaults, 3,000 such events (a
// megabyte each on the wire, 500,000 headers) would hold 60 GB against 64 MiB.
func TestQueuedBytesCountEmptyHeaders(t *testing.T) {
	t.Parallel()
	const batches, perBatch, headers = 4, 5, 100_000
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	pcl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerLinger(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	empty := make([]kgo.RecordHeader, headers)
	for range batches {
		for range perBatch {
			pcl.Produce(context.Background(), &kgo.Record{Topic: "events", Partition: 0, Key: []byte("c"), Value: []byte(`{}`), Headers: empty}, nil)
		}
		if err := pcl.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	pcl.Close()

	h := &blockingHandler{first: make(chan int, 1), release: make(chan struct{})}
	var full sync.Map
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: c.ListenAddrs()}, Topics: Topics{Events: "events"}, Group: "g",
		FetchMaxBytes: 1, MaxQueuedRecords: 1_000_000, MaxQueuedBytes: 100_000,
		OnQueueFull: func(limit string) { full.Store(limit, true) }, Workers: 1}, h)
	if err != nil {
		t.Fatal(err)
	}
	var held, heldRecords int
	var counted int64
	err = runUntil(ec, func() bool {
		select {
		case <-h.first:
			for i := 0; i < 500 && ec.Client().BufferedFetchRecords() == 0; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond) // a poll loop not held back takes the next fetches now
			ec.inflight.mu.Lock()
			held, heldRecords, counted = ec.inflight.n, ec.inflight.records, ec.inflight.bytes
			ec.inflight.mu.Unlock()
			close(h.release)
		default:
		}
		return h.handled.Load() == batches*perBatch
	})
	if err != nil {
		t.Fatal(err)
	}
	heldHeaderBytes := heldRecords * headers * int(unsafe.Sizeof(kgo.RecordHeader{}))
	_, bytesReached := full.Load(QueueLimitBytes)
	t.Logf("while the worker held the first batch: %d batches, %d records taken from the client, holding %d bytes of headers; counted against max queued bytes (100,000): %d bytes; %s reached: %v",
		held, heldRecords, heldHeaderBytes, counted, QueueLimitBytes, bytesReached)
	if held != 1 || !bytesReached {
		t.Errorf("%d batches (%d records of %d empty headers, %d bytes of kgo.RecordHeader) queued against a 100,000-byte bound that counted %d: empty headers are held but not counted by --max-queued-bytes",
			held, heldRecords, headers, heldHeaderBytes, counted)
	}
}
