package ingest

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestDeliveredCountsADeadLetterByItsLastReason: a replayed dead letter that failed
// again carries its old reason first and its new one last; it is counted by the new.
// Found by a mutation hunt: Delivered taking the first reason passed every test.
func TestDeliveredCountsADeadLetterByItsLastReason(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := NewRerouter(nil, "events.dlq", 1<<20, nil, NewMetrics(reg), slog.New(slog.DiscardHandler))
	r.Delivered(&kgo.Record{Topic: "events.dlq", Headers: []kgo.RecordHeader{
		{Key: HeaderReason, Value: []byte(ReasonMissingKey)},
		{Key: HeaderError, Value: []byte("no key")},
		{Key: HeaderReason, Value: []byte(ReasonInvalidJSON)},
	}})
	// Not a dead letter, with a reason of its own, so that counting it is not taken
	// for counting the dead letter.
	r.Delivered(&kgo.Record{Topic: "alerts", Headers: []kgo.RecordHeader{{Key: HeaderReason, Value: []byte(ReasonTooDeep)}}})
	if got, old := promtest.Value(t, reg, "hindsight_dead_letters_total", "reason", ReasonInvalidJSON), promtest.Value(t, reg, "hindsight_dead_letters_total", "reason", ReasonMissingKey); got != 1 || old != 0 {
		t.Errorf("hindsight_dead_letters_total: %s %v, %s %v; want 1 and 0", ReasonInvalidJSON, got, ReasonMissingKey, old)
	}
	if n := promtest.Value(t, reg, "hindsight_dead_letters_total", "reason", ReasonTooDeep); n != 0 {
		t.Errorf("hindsight_dead_letters_total{reason=%q} %v for a record of the alerts topic; want 0", ReasonTooDeep, n)
	}
}

// TestNotProducedCutsALongErrorToItsBound: the error header of a NotProduced dead
// letter is at most NotProducedErrorBytes, valid UTF-8 ending in "...", so that
// NotProducedRoom holds. Found by a mutation hunt: a bound four times as large passed
// every test.
func TestNotProducedCutsALongErrorToItsBound(t *testing.T) {
	rec := &kgo.Record{Topic: "alerts", Key: []byte("c"), Value: []byte(`{"a":1}`)}
	for _, cause := range []string{
		strings.Repeat("é", 2000), // 4,000 bytes, a cut inside a character
		strings.Repeat("x", NotProducedErrorBytes+1),
	} {
		dl := NotProduced(rec, "events.dlq", errors.New(cause))
		e := lastHeader(dl, HeaderError)
		if len(e) > NotProducedErrorBytes || len(e) < NotProducedErrorBytes-4 || !strings.HasSuffix(e, "...") || !utf8.ValidString(e) || !strings.HasPrefix(cause, strings.TrimSuffix(e, "...")) {
			t.Errorf("error header of %d bytes from a cause of %d: %.40q…; want at most %d, valid UTF-8, the cause's start and ...", len(e), len(cause), e, NotProducedErrorBytes)
		}
	}
	exact := strings.Repeat("x", NotProducedErrorBytes)
	if e := lastHeader(NotProduced(rec, "events.dlq", errors.New(exact)), HeaderError); e != exact {
		t.Errorf("a cause of exactly %d bytes was cut to %d", NotProducedErrorBytes, len(e))
	}
}

// TestDeadLetterTooLargeEvenAtItsSmallestIsGivenUp: a dead-letter topic whose
// max.message.bytes is below a dead letter's own headers refuses it however it is
// cut; once cut to its smallest it is counted lost and its event's offset committed.
// Found by a mutation hunt: cutAgain's 'RecordBytes(again) >= size' as '>' passed
// every test, though it produced the smallest dead letter again for ever and the
// event's offset was never committed.
func TestDeadLetterTooLargeEvenAtItsSmallestIsGivenUp(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.SetTopicConfig(t, "events.dlq", "max.message.bytes", "100")
	bad := append([]byte(`{"x":"`), bytes.Repeat([]byte("y"), 2_000)...) // unterminated: invalid_json
	b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c"), Value: bad})

	reg := prometheus.NewRegistry()
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-too-large-smallest",
		CommitInterval: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, &deadLetterCounter{})
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	poll.Until(t, 30*time.Second, "the malformed event's offset committed", func() bool {
		return b.GroupCommitted(t, "dlq-too-large-smallest", "events") == 1
	})
	stop()
	if lost := promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "events.dlq"); lost != 1 {
		t.Errorf("hindsight_produce_errors_total{topic=events.dlq} %v; want 1, the dead letter lost", lost)
	}
	if got := promtest.Value(t, reg, "hindsight_dead_letters_total", "reason", ReasonInvalidJSON); got != 0 {
		t.Errorf("hindsight_dead_letters_total{reason=invalid_json} %v; want 0", got)
	}
}
