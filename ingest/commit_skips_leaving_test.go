package ingest

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// blockingLoser counts the events handled and waits in Lost until release.
type blockingLoser struct {
	handled atomic.Int64
	inLost  chan struct{}
	release chan struct{}
}

func (*blockingLoser) Assigned([]int32) {}
func (*blockingLoser) Revoked([]int32)  {}
func (h *blockingLoser) HandleBatch(b *Batch) {
	for range b.Events() {
	}
	h.handled.Add(int64(b.Len()))
}
func (h *blockingLoser) Lost([]int32) {
	close(h.inLost)
	<-h.release
}

// committedAt is group's committed offset of the events topic's partition p, -1 when
// none.
func committedAt(t *testing.T, b *kafkatest.Broker, group string, p int32) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(b.Client(t)).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetching group %s's offsets: %v", group, err)
	}
	if o, ok := offs.Lookup("events", p); ok {
		return o.At
	}
	return -1
}

// handledThreeEach starts a consumer of group over a broker whose two events
// partitions hold three events each, and waits until it has handled all six. It makes
// no periodic commit of its own (the tests make the ones they check); the consumer
// stops at the test's end.
func handledThreeEach(t *testing.T, group string) (*kafkatest.Broker, *EventConsumer, *blockingLoser) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	cl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for p := range int32(2) {
		for range 3 {
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Key: []byte("c"), Value: []byte(`{"x":1}`)})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	h := &blockingLoser{inLost: make(chan struct{}), release: make(chan struct{})}
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(prometheus.NewRegistry()), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		CommitInterval: time.Hour, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(runInBackground(ec))
	poll.Until(t, 30*time.Second, "both partitions' events handled", func() bool { return h.handled.Load() == 6 })
	return b, ec, h
}

// TestPeriodicCommitSkipsPartitionsBeingGivenUp: partition 1 is lost (the group
// session expired) while its Lost handler runs, and a periodic commit comes meanwhile.
// It must commit partition 0, which stays, and not partition 1: another member may
// own it already and have committed past this one's handled offset, which a late
// commit from here would rewind (its events evaluated, and alerted, again).
func TestPeriodicCommitSkipsPartitionsBeingGivenUp(t *testing.T) {
	t.Parallel()
	b, ec, h := handledThreeEach(t, "leaving")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	lost := make(chan struct{})
	go func() {
		defer close(lost)
		ec.onLost(context.Background(), ec.cl, map[string][]int32{"events": {1}})
	}()
	defer func() { <-lost }()
	defer close(h.release)
	<-h.inLost
	ec.Commit(ctx)
	if got := committedAt(t, b, "leaving", 0); got != 3 {
		t.Errorf("partition 0 (staying) committed at %d, want 3", got)
	}
	if got := committedAt(t, b, "leaving", 1); got != -1 {
		t.Errorf("partition 1 (lost, its Lost handler running) committed at %d by the periodic commit, want nothing committed", got)
	}
}
