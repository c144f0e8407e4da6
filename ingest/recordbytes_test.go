package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestMaxRecordBytesIsTaken: a record of MaxRecordBytes (as RecordBytes counts it), the
// most a bound on produced records may allow, is taken by the client with its default
// batch bound, and by the broker; one batch past the bound is not.
func TestMaxRecordBytesIsTaken(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	cl := b.Client(t, kgo.ProducerLinger(0))
	rec := &kgo.Record{Topic: "events", Key: []byte("c-1")}
	rec.Value = make([]byte, ingest.MaxRecordBytes-ingest.RecordBytes(rec))
	for ingest.RecordBytes(rec) > ingest.MaxRecordBytes { // the value's length prefix grew
		rec.Value = rec.Value[:len(rec.Value)-1]
	}
	if n := ingest.RecordBytes(rec); n != ingest.MaxRecordBytes {
		t.Fatalf("record of %d bytes, want %d", n, ingest.MaxRecordBytes)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatalf("a record of MaxRecordBytes was refused: %v", err)
	}
	over := &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: make([]byte, 1_000_012)}
	if err := cl.ProduceSync(ctx, over).FirstErr(); err == nil {
		t.Fatal("a record past the client's batch bound was taken: MaxRecordBytes is not that bound")
	}
}
