package ingest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestProduceWaitingEndsOnlyTheWait: the context given to ProduceWaiting ends its wait
// for room in the client's buffer, and nothing else. franz-go fails a buffered record
// whose Produce context ends: handed that context, a Keeper written just before the
// daemon stopped, or an alert of a hand-off, was failed ("context canceled") where the
// flush at shutdown would have sent it.
func TestProduceWaitingEndsOnlyTheWait(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	// A refused record waits for a metadata refresh, which MetadataMinAge spaces (5 s by
	// default): the record goes soon after the topic takes writes.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.MaxBufferedRecords(1), kgo.ProducerLinger(0),
		kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// Handed over, then the context ends: the record is still sent.
	ctx, cancel := context.WithCancel(context.Background())
	sent := make(chan error, 1)
	if !ProduceWaiting(ctx, cl, &kgo.Record{Topic: "events", Value: []byte("a")}, func(_ *kgo.Record, err error) { sent <- err }) {
		t.Fatal("a record with room in the buffer was not handed over")
	}
	cancel()
	if err := <-sent; err != nil {
		t.Fatalf("a record handed over, its context ended after: %v, want it sent", err)
	}

	// With the topic refusing writes, the buffer holds the first; the second waits, and
	// its context ending ends the wait.
	var refusing atomic.Bool
	refusing.Store(true)
	b.FailProduces(t, "events", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return refusing.Load() })
	first := make(chan error, 1)
	if !ProduceWaiting(context.Background(), cl, &kgo.Record{Topic: "events", Value: []byte("b")}, func(_ *kgo.Record, err error) { first <- err }) {
		t.Fatal("the first record was not handed over")
	}
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	began := time.Now()
	if ProduceWaiting(ctx, cl, &kgo.Record{Topic: "events", Value: []byte("c")}, func(_ *kgo.Record, err error) { second <- err }) {
		t.Fatal("a record that found the buffer full was handed over")
	}
	if waited := time.Since(began); waited > 10*time.Second {
		t.Errorf("the wait ended %v after its context did", waited)
	}
	if err := <-second; !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Errorf("the record that waited: %v, want its context's error", err)
	}
	refusing.Store(false)
	if err := <-first; err != nil {
		t.Errorf("the buffered record, once the topic takes writes: %v, want it sent", err)
	}
}
