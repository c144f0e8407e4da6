package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// alertingHandler emits, for every valid event, one large record to the alerts topic
// (as live's raise does through Batch.Emit).
type alertingHandler struct {
	nopHandler
	handled atomic.Int64
	size    int
}

func (h *alertingHandler) HandleBatch(b *Batch) {
	for ev := range b.Events() {
		b.Emit(ev, &kgo.Record{Topic: "alerts", Key: []byte(ev.Customer), Value: bytes.Repeat([]byte("a"), h.size)})
	}
	h.handled.Add(int64(b.Len()))
}

// TestReroutedDeadLettersCountAsPendingProduce: an alerts topic refusing for good (a
// smaller max.message.bytes, a denied ACL: reroute.Failed) sends each alert to the
// dead-letter topic instead; while that topic does not take writes (a retriable
// error) those dead letters wait in the client just as the dead letters of malformed
// events do, and --max-pending-produce-bytes ("alerts, dead letters") must bound them
// alike. emit subtracted an alert's bytes when its produce failed, before Rerouter
// produced its dead letter, which nothing counted (a review's test: 150 of 150 events
// read, 30 MB waiting, gauge 0); the bytes stay pending until the dead letter is done.
func TestReroutedDeadLettersCountAsPendingProduce(t *testing.T) {
	if testing.Short() && !underRace {
		t.Skip("waits out a dead-letter topic refusing 30 MB of rerouted alerts: make test runs it")
	}
	t.Parallel()
	const n, size = 150, 200_000 // 150 alerts of 200 KB: 30 MB of dead letters
	const maxPending = 1 << 20
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	// Batches of 10 events of 1 KB: a fetch (FetchMaxBytes 4 KB) takes one.
	var recs []*kgo.Record
	event := []byte(`{"type":"login","pad":"` + string(bytes.Repeat([]byte("p"), 1000)) + `"}`)
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c%d", i)), Value: event})
		if len(recs) == 10 {
			b.Produce(t, recs...)
			recs = nil
		}
	}

	md, err := kadm.NewClient(b.Client(t)).Metadata(context.Background(), "alerts", "events.dlq")
	if err != nil {
		t.Fatal(err)
	}
	alertsID, dlqID := md.Topics["alerts"].ID, md.Topics["events.dlq"].ID
	// One control for both topics: a produce request carries both at once.
	var refusing atomic.Bool
	refusing.Store(true)
	c := b.Cluster
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		if !refusing.Load() {
			return nil, nil, false
		}
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, tp := range pr.Topics {
			var code int16
			switch {
			case tp.Topic == "alerts" || tp.TopicID == alertsID:
				code = kerr.InvalidRecord.Code // for good: the record goes to events.dlq
			case tp.Topic == "events.dlq" || tp.TopicID == dlqID:
				code = kerr.NotEnoughReplicas.Code // retriable: the client keeps it
			default:
				return nil, nil, false
			}
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = tp.Topic, tp.TopicID
			for _, p := range tp.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})

	h := &alertingHandler{size: size}
	reg := prometheus.NewRegistry()
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "reroute-pending",
		MaxQueuedRecords: 10, MaxQueuedBytes: 1 << 20, MaxPendingProduceBytes: maxPending, FetchMaxBytes: 4 << 10, Workers: 1,
		ShutdownTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	defer func() {
		refusing.Store(false) // so that the last flush ends at once
		stop()
	}()
	handled := waitStalled(t, &h.handled)
	bufRecs, bufBytes := ec.Client().BufferedProduceRecords(), ec.Client().BufferedProduceBytes()
	pending := promtest.Sum(t, reg, "hindsight_produce_pending_bytes")
	t.Logf("with alerts refused for good and events.dlq refusing writes: %d of %d events handled, %d dead letters (%d bytes) waiting in the client; hindsight_produce_pending_bytes %v",
		handled, n, bufRecs, bufBytes, pending)
	// As TestDeadLettersWaitingForTheirTopicAreBounded: a poll's batches may produce
	// past the bound, but the consumer stops at the next poll, far short of all the
	// events, and the gauge shows what waits.
	if handled == n || pending < maxPending {
		t.Fatalf("--max-pending-produce-bytes %d did not bound the rerouted dead letters: %d of %d events handled, %d bytes of dead letters waiting in the client (gauge %v)",
			maxPending, handled, n, bufBytes, pending)
	}
}
