package ingest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// waitEachBatch tells entered of each batch it is handed and waits for a release
// before handling it.
type waitEachBatch struct {
	entered chan [2]int64 // the batch's first offset and the offset after it
	release chan struct{}
}

func (*waitEachBatch) Assigned([]int32) {}
func (*waitEachBatch) Revoked([]int32)  {}
func (h *waitEachBatch) HandleBatch(b *Batch) {
	h.entered <- [2]int64{b.recs[0].Offset, b.NextOffset()}
	<-h.release
	for range b.Events() {
	}
}

// TestLagMeasuredDuringABatchOutlivesItsHandling: the first batch (offsets 0-2, its
// fetch seeing the log end at 3) is in hand when seven more events arrive and a lag
// measurement sees the end at 10. Once the batch is handled the lag is 10-3 = 7, not
// 0 from the batch's older high watermark: a consumer shown caught up while seven
// events wait (until the next batch is handled) hides a consumer falling behind. (A
// first fetch of fewer records is measured alike: 10 less the offset after it.)
func TestLagMeasuredDuringABatchOutlivesItsHandling(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	ev := func() *kgo.Record { return &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":1}`)} }
	b.Produce(t, ev(), ev(), ev())

	reg := prometheus.NewRegistry()
	h := &waitEachBatch{entered: make(chan [2]int64, 16), release: make(chan struct{})}
	// No lag measurement of the consumer's own: the test makes the one that counts.
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "lag-during-batch",
		CommitInterval: time.Hour, LagInterval: time.Hour, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	released := false
	defer func() {
		if !released {
			close(h.release)
		}
		stop()
	}()
	next := func(what string) [2]int64 {
		t.Helper()
		select {
		case got := <-h.entered:
			return got
		case <-time.After(30 * time.Second):
			t.Fatalf("no %s handed to the handler", what)
			return [2]int64{}
		}
	}
	first := next("first batch")
	if first[0] != 0 {
		t.Fatalf("first batch starts at %d, want 0", first[0])
	}
	b.Produce(t, ev(), ev(), ev(), ev(), ev(), ev(), ev())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ec.refreshLag(ctx, kadm.NewClient(ec.cl))
	h.release <- struct{}{} // the first batch goes on
	// The next batch is handed over only after the first was handled, and is held
	// before it is handled: the gauge is the first batch's.
	if second := next("second batch"); second[0] != first[1] {
		t.Fatalf("second batch starts at %d, want %d", second[0], first[1])
	}
	if got, want := promtest.Value(t, reg, "hindsight_consumer_lag_records", "partition", "0"), float64(10-first[1]); got != want {
		t.Errorf("hindsight_consumer_lag_records{partition=0} = %v after the first batch (next offset %d) with the log's end measured at 10, want %v", got, first[1], want)
	}
	released = true
	close(h.release)
}
