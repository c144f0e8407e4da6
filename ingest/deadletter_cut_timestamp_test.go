package ingest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCutDeadLetterKeepsItsTimestampHeader: a dead letter of a record stamped before
// 1677 (which the Kafka client cannot write) carries HeaderTimestamp after the five
// dead-letter headers, and is cut to a limit that even its own headers alone pass. The
// cut drops the value, the key and every header of the original, and no header of its
// own: counted as five, HeaderReason went, and the dead letter no longer said why.
func TestCutDeadLetterKeepsItsTimestampHeader(t *testing.T) {
	t.Parallel()
	r := &kgo.Record{Topic: "events", Partition: 2, Offset: 7, Key: []byte("customer"), Value: []byte(`{"x":`),
		Timestamp: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		Headers:   []kgo.RecordHeader{{Key: "a", Value: []byte(strings.Repeat("x", 100))}, {Key: "b", Value: []byte("y")}}}
	rec := DeadLetter(r, "events.dlq", ReasonInvalidJSON, errors.New("unexpected end of JSON input"))
	ours := []string{HeaderReason, HeaderError, HeaderTopic, HeaderPartition, HeaderOffset, HeaderTimestamp}
	var keys []string
	for _, h := range rec.Headers {
		keys = append(keys, h.Key)
	}
	if want := append([]string{"a", "b"}, ours...); !slices.Equal(keys, want) {
		t.Fatalf("DeadLetter headers = %v, want %v", keys, want)
	}
	// What no cut goes below: no key, value or original header, and the cut's
	// HeaderOriginalBytes.
	floor := &kgo.Record{Headers: append(slices.Clone(rec.Headers[2:]), kgo.RecordHeader{Key: HeaderOriginalBytes, Value: []byte("999")})}
	limit := RecordBytes(floor) - 1

	if !CutDeadLetter(rec, limit) {
		t.Fatalf("CutDeadLetter(%d) of a %d-byte dead letter did not cut", limit, RecordBytes(rec))
	}
	keys = keys[:0]
	for _, h := range rec.Headers {
		keys = append(keys, h.Key)
	}
	if want := append(ours, HeaderOriginalBytes); !slices.Equal(keys, want) {
		t.Fatalf("cut dead letter's headers = %v, want %v: the original's headers go, its own stay", keys, want)
	}
	if len(rec.Key) != 0 || len(rec.Value) != 0 {
		t.Errorf("cut dead letter keeps key %q, value %q; want both empty", rec.Key, rec.Value)
	}
}
