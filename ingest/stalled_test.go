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
)

// TestStalledListsOnlyOwnedPartitionsBehind: three partitions hold three records each.
// Partition 0 has handled all three (caught up: its next offset is the log's last
// stable offset), partition 1 one, and partition 2 one but is being given up. After a
// lag measurement, only partition 1 is stalled: a caught-up partition reported stalled
// makes the daemon's /readyz not ready for nothing, and one being revoked is no longer
// this consumer's to read.
func TestStalledListsOnlyOwnedPartitionsBehind(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	cl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for p := range int32(3) {
		for range 3 {
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Key: []byte("c"), Value: []byte(`{"x":1}`)})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(prometheus.NewRegistry()), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "stalled",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	// The test sets the partitions' state itself: swap in a client outside any group.
	ec.cl.Close()
	ec.cl = b.Client(t)
	for p, handled := range []int64{3, 1, 1} {
		ps := newPartState(int32(p))
		ps.handled = kgo.EpochOffset{Epoch: -1, Offset: handled}
		ps.leaving = p == 2
		ec.parts[int32(p)] = ps
	}
	ec.refreshLag(ctx, kadm.NewClient(ec.cl))

	got := ec.Stalled(time.Now().Add(time.Minute), time.Second)
	want := []Stall{{Partition: 1, Next: 1, Readable: 3}}
	if len(got) != len(want) || got[0].Partition != want[0].Partition || got[0].Next != want[0].Next || got[0].Readable != want[0].Readable || got[0].Since.IsZero() {
		var ps []int32
		for _, s := range got {
			ps = append(ps, s.Partition)
		}
		t.Fatalf("Stalled = %+v (partitions %v), want only partition 1 with Next 1, Readable 3 and a Since: partition 0 is caught up, partition 2 being given up", got, ps)
	}
	if got := ec.Stalled(time.Now(), time.Hour); len(got) != 0 {
		t.Errorf("Stalled with a bound of an hour = %+v, want none: partition 1 was first seen behind just now", got)
	}
}
