package ingest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestCommitAsAnotherMemberIsRefused: partitions assigned under one member id are not
// committed as another. After a rejoin franz-go did not call lost (heldByFormerMember),
// the new member's commit of what the former one handled would be accepted by the
// group, and could move back what another member committed meanwhile.
func TestCommitAsAnotherMemberIsRefused(t *testing.T) {
	t.Parallel()
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
	// No periodic commit of the consumer's own: the test makes the ones checked.
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(prometheus.NewRegistry()), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "former-member",
		CommitInterval: time.Hour, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	defer stop()
	poll.Until(t, 30*time.Second, "both partitions' events handled", func() bool { return h.handled.Load() == 6 })

	ec.commitMu.Lock()
	member := ec.heldAs
	ec.heldAs = "a-former-member"
	ec.commitMu.Unlock()
	if member == "" {
		t.Fatal("the consumer's partitions were assigned under no member id")
	}
	ec.Commit(ctx)
	for p := range int32(2) {
		if got := committedAt(t, b, "former-member", p); got != -1 {
			t.Errorf("partition %d, assigned to another member, committed at %d as member %s; want nothing committed", p, got, member)
		}
	}

	ec.commitMu.Lock()
	ec.heldAs = member
	ec.commitMu.Unlock()
	ec.Commit(ctx)
	for p := range int32(2) {
		if got := committedAt(t, b, "former-member", p); got != 3 {
			t.Errorf("partition %d committed at %d as the member it was assigned to, want 3", p, got)
		}
	}
}
