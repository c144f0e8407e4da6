package live_test

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestManyHeadersMalformedEventIsDeadLettered: a malformed event the broker took whose
// key, value and headers fit --dead-letter-max-bytes, but whose 20,000 empty headers
// cost two bytes each on the wire, still reaches events.dlq: the bound counts records
// as the client encodes them. It was refused by the client (MESSAGE_TOO_LARGE) and
// lost.
func TestManyHeadersMalformedEventIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	big := append([]byte(`{"blob":"`), strings.Repeat("x", 970_000)...) // not JSON: no end
	hs := make([]kgo.RecordHeader, 20_000)
	producer := b.Client(t, kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(1_048_000))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := producer.ProduceSync(ctx,
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: big, Headers: hs},
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"ok"}`)},
	).FirstErr(); err != nil {
		t.Fatalf("the broker refused the events: %v", err)
	}
	waitSeen(t, d, 2)
	if dlq := b.Consume(t, "events.dlq", 1, wait); len(dlq) != 1 {
		t.Fatalf("events.dlq holds %d records, want 1; dead letters counted: %d", len(dlq), d.DeadLetters())
	}
	poll.Until(t, wait, "the dead letter counted", func() bool { return d.DeadLetters() == 1 })
}
