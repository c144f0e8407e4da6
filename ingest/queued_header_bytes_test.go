package ingest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestQueuedBytesCountHeaders: --max-queued-bytes counts the records' headers as well
// as their keys and values: the broker bounds the record, not its parts, and headers
// are held as long. Events with a 200 KB header and a value of {} passed the bound as
// if they were empty (a resource hunt's test: 8 batches, 4 MB of headers, against a
// 100,000-byte bound counting 60), and the poll loop took every fetch while the worker
// held the first; at the defaults, 3,000 records of about a megabyte (3 GB) against 64
// MiB. Then a header's key and value were counted but not the header itself, while
// each one fetched is a kgo.RecordHeader held in memory (40 bytes on 64-bit) and 2
// bytes on the wire: events of 100,000 empty headers each (200 KB on the wire) counted
// 3 bytes apiece and held 4 MB each. Now the first batch reaches the bound, and the
// next fetch waits.
func TestQueuedBytesCountHeaders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		headers []kgo.RecordHeader
		held    int // bytes of headers a record holds
	}{
		{"a 200 KB header", []kgo.RecordHeader{{Key: "trace", Value: bytes.Repeat([]byte("h"), 200_000)}}, 200_000},
		{"100,000 empty headers", make([]kgo.RecordHeader, 100_000), 100_000 * int(unsafe.Sizeof(kgo.RecordHeader{}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			held, heldRecords, counted, bytesReached := queuedWhileHeld(t, tc.headers)
			t.Logf("while the worker held the first batch: %d batches, %d records taken from the client, holding %d bytes of headers; counted against max queued bytes (100,000): %d bytes; %s reached: %v",
				held, heldRecords, heldRecords*tc.held, counted, QueueLimitBytes, bytesReached)
			if held != 1 || !bytesReached {
				t.Errorf("%d batches (%d records, %d bytes of headers) queued against a 100,000-byte bound that counted %d: headers are held but not counted by --max-queued-bytes",
					held, heldRecords, heldRecords*tc.held, counted)
			}
		})
	}
}

// queuedWhileHeld produces 4 batches of 5 events carrying headers, and reads them with
// --max-queued-bytes 100,000 and one worker that holds the first batch: it returns the
// batches and records in flight while it held it, the bytes counted for them, and
// whether the bytes bound was reached.
func queuedWhileHeld(t *testing.T, headers []kgo.RecordHeader) (held, heldRecords int, counted int64, bytesReached bool) {
	t.Helper()
	const batches, perBatch = 4, 5
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
	for range batches {
		for range perBatch {
			pcl.Produce(context.Background(), &kgo.Record{Topic: "events", Partition: 0, Key: []byte("c"), Value: []byte(`{}`), Headers: headers}, nil)
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
	_, bytesReached = full.Load(QueueLimitBytes)
	return held, heldRecords, counted, bytesReached
}
