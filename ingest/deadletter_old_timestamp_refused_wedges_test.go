package ingest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestDeadLetterOfOldEventIsRestamped: a malformed event read from a backlog older
// than the dead-letter topic's log.message.timestamp.before.max.ms (a common
// hardening, here 7 days) gets its dead letter refused with INVALID_TIMESTAMP: the dead
// letter copies the record's timestamp, which only grows older. Held as if the topic
// would take it later, the dead letter never landed, the partition's offset never
// passed it, and no event after it was committed. It is produced again stamped now,
// the event's time in hindsight.dlq.timestamp.
func TestDeadLetterOfOldEventIsRestamped(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	maxAge := 7 * 24 * time.Hour
	// The dead-letter topic refuses records stamped older than maxAge, as a broker with
	// log.message.timestamp.before.max.ms does (kfake has no such check).
	b.FailProduces(t, "events.dlq", kerr.InvalidTimestamp, func(pr *kmsg.ProduceRequest) bool {
		for _, tp := range pr.Topics {
			for _, p := range tp.Partitions {
				var rb kmsg.RecordBatch
				if err := rb.ReadFrom(p.Records); err != nil {
					continue
				}
				if time.Since(time.UnixMilli(rb.FirstTimestamp)) > maxAge {
					return true
				}
			}
		}
		return false
	})
	old := time.Now().Add(-8 * 24 * time.Hour)
	recs := b.Produce(t,
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":`), Timestamp: old},
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"ok"}`)},
	)
	h := &collectHandler{events: map[int64]string{}}
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "oldts", ShutdownTimeout: 2 * time.Second}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ec.Run(ctx) }()
	dlq := b.Consume(t, "events.dlq", 1, 20*time.Second)
	// A bounded wait; the assertion on committed below says what went wrong. Each ask
	// is a request to the broker: every 100ms.
	var committed int64
	poll.WithinEvery(5*time.Second, 100*time.Millisecond, func() bool {
		committed = b.GroupCommitted(t, "oldts", "events")
		return committed == kafkatest.ReadThrough(recs)
	})
	cancel()
	if err := <-done; err != nil {
		t.Logf("consumer: %v", err)
	}
	if len(dlq) != 1 {
		t.Errorf("dead letters on events.dlq after 20s: %d, want 1 (the malformed event of %s, restamped or otherwise written)", len(dlq), old.UTC().Format(time.RFC3339))
	} else {
		var ts string
		for _, h := range dlq[0].Headers {
			if h.Key == HeaderTimestamp {
				ts = string(h.Value)
			}
		}
		if want := strconv.FormatInt(old.UnixMilli(), 10); ts != want || time.Since(dlq[0].Timestamp) > time.Hour {
			t.Errorf("the dead letter is stamped %v with %s %q; want stamped now, the event's time %s in the header", dlq[0].Timestamp, HeaderTimestamp, ts, want)
		}
	}
	if want := kafkatest.ReadThrough(recs); committed != want {
		t.Errorf("group committed %d on events, want %d: the partition is held at the old malformed event for good", committed, want)
	}
	if h.n() != 1 {
		t.Errorf("events handed to the handler: %d, want 1", h.n())
	}
}
