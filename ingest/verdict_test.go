package ingest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/jsonpath"
)

// collectHandler records the events it is handed.
type collectHandler struct {
	mu     sync.Mutex
	events map[int64]string // offset → customer
}

func (*collectHandler) Assigned([]int32) {}
func (*collectHandler) Revoked([]int32)  {}
func (h *collectHandler) HandleBatch(b *Batch) {
	for ev := range b.Events() {
		h.mu.Lock()
		h.events[ev.Offset] = strings.Clone(ev.Customer)
		h.mu.Unlock()
	}
}

func (h *collectHandler) n() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// TestInvalidKeyIsDeadLettered: a key that is not UTF-8 cannot be a customer id (it is
// a string in every record that leaves the process, and DuckDB refuses a Parquet file
// holding it), so the record goes to the dead-letter topic with reason invalid_key,
// next to the other refusals, and is not evaluated; so does a key longer than
// max_customer_bytes (key_too_long).
func TestInvalidKeyIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	recs := []*kgo.Record{
		{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"ok"}`)},
		{Topic: "events", Key: []byte("c-\xff\xfe"), Value: []byte(`{"type":"bad key"}`)},
		{Topic: "events", Key: []byte("\xc0\xaf"), Value: []byte(`{"type":"overlong key"}`)}, // overlong '/'
		{Topic: "events", Value: []byte(`{"type":"no key"}`)},
		{Topic: "events", Key: []byte("c-2"), Value: []byte(`{"type":`)},
		{Topic: "events", Key: []byte("c-2"), Value: []byte(strings.Repeat("[", 1001) + strings.Repeat("]", 1001))},
		{Topic: "events", Key: []byte("c-3"), Value: []byte(`{"type":"ok"}`)},
		{Topic: "events", Key: bytes.Repeat([]byte("c"), 1025), Value: []byte(`{"type":"long key"}`)},
	}
	b.Produce(t, recs...)
	h := &collectHandler{events: map[int64]string{}}
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "verdict", ShutdownTimeout: 5 * time.Second}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ec.Run(ctx) }()
	dlq := b.Consume(t, "events.dlq", 6, 30*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("consumer: %v", err)
	}
	want := map[int64]string{1: ReasonInvalidKey, 2: ReasonInvalidKey, 3: ReasonMissingKey, 4: ReasonInvalidJSON, 5: ReasonTooDeep, 7: ReasonKeyTooLong}
	got := map[int64]string{}
	for _, r := range dlq {
		hs := map[string]string{}
		for _, x := range r.Headers {
			hs[x.Key] = string(x.Value)
		}
		var off int64
		for _, c := range hs[HeaderOffset] {
			off = off*10 + int64(c-'0')
		}
		got[off] = hs[HeaderReason]
		if hs[HeaderReason] == ReasonInvalidKey && string(r.Key) != string(recs[off].Key) {
			t.Errorf("offset %d: dead letter key %q, want the record's %q unchanged", off, r.Key, recs[off].Key)
		}
	}
	for off, reason := range want {
		if got[off] != reason {
			t.Errorf("offset %d: dead-letter reason %q, want %q", off, got[off], reason)
		}
	}
	if len(got) != len(want) {
		t.Errorf("dead letters %v, want %v", got, want)
	}
	if h.n() != 2 || h.events[0] != "c-1" || h.events[6] != "c-3" {
		t.Errorf("events handed to the handler %v, want offsets 0 (c-1) and 6 (c-3)", h.events)
	}
}

// verdictTap records, per offset, what a BatchTap heard: the verdict, and for an
// accepted record the value of $.type read from the parse it was handed.
type verdictTap struct {
	mu      sync.Mutex
	h       *collectHandler
	heard   map[int64]string
	handled int // batches whose Handled came
	early   int // Handled calls that came before the handler had seen the batch's events
}

func (*verdictTap) Resume(int32, int64) {}
func (*verdictTap) Revoked([]int32)     {}
func (v *verdictTap) Fetched(_ int32, _, _ int64, recs []*kgo.Record) BatchTap {
	return &verdictBatch{v: v, recs: recs, path: jsonpath.MustParse("$.type")}
}

type verdictBatch struct {
	v    *verdictTap
	recs []*kgo.Record
	path *jsonpath.Path
	buf  []jsonpath.Value
}

func (b *verdictBatch) Accepted(i int, doc *jsonpath.Document) {
	b.buf = b.path.Eval(doc, b.buf[:0])
	b.v.mu.Lock()
	defer b.v.mu.Unlock()
	b.v.heard[b.recs[i].Offset] = "accepted " + b.buf[0].Str()
}

func (b *verdictBatch) Refused(i int, reason string) {
	b.v.mu.Lock()
	defer b.v.mu.Unlock()
	b.v.heard[b.recs[i].Offset] = "refused " + reason
}

func (b *verdictBatch) Handled() {
	b.v.mu.Lock()
	defer b.v.mu.Unlock()
	b.v.handled++
	for _, r := range b.recs {
		if strings.HasPrefix(b.v.heard[r.Offset], "accepted") {
			b.v.h.mu.Lock()
			_, seen := b.v.h.events[r.Offset]
			b.v.h.mu.Unlock()
			if !seen {
				b.v.early++
			}
		}
	}
}

// TestBatchTapHearsVerdicts: the tap's BatchTap hears each record's verdict as the
// consumer decides it — the reason of a refusal, the parse of an event — and Handled
// once the handler is done with the batch, so that the archiver need not decide again.
func TestBatchTapHearsVerdicts(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.Produce(t,
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"login"}`)},
		&kgo.Record{Topic: "events", Value: []byte(`{"type":"no key"}`)},
		&kgo.Record{Topic: "events", Key: []byte("c-2"), Value: []byte(`{"type":`)},
		&kgo.Record{Topic: "events", Key: []byte("c-3"), Value: []byte(`{"type":"logout","n":[1,2]}`)},
	)
	h := &collectHandler{events: map[int64]string{}}
	tap := &verdictTap{h: h, heard: map[int64]string{}}
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "tap", ShutdownTimeout: 5 * time.Second, Tap: tap}, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := runUntil(ec, func() bool {
		tap.mu.Lock()
		defer tap.mu.Unlock()
		return len(tap.heard) == 4 && tap.handled > 0
	}); err != nil {
		t.Fatal(err)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	want := map[int64]string{0: "accepted login", 1: "refused " + ReasonMissingKey, 2: "refused " + ReasonInvalidJSON, 3: "accepted logout"}
	for off, w := range want {
		if tap.heard[off] != w {
			t.Errorf("offset %d: the tap heard %q, want %q", off, tap.heard[off], w)
		}
	}
	if tap.early != 0 {
		t.Errorf("%d accepted records were reported handled before the handler saw them", tap.early)
	}
}

// TestDeadLetterOfRecordWithDLQHeadersIsNotLost: a record the broker took (no key, and
// a large header named as the dead letters' are, as a dead letter replayed into the
// events topic carries) reaches the dead-letter topic, cut to --dead-letter-max-bytes:
// "a malformed event the broker took is never lost for want of room in events.dlq".
// The cut kept the header, the broker refused the dead letter, and the event's offset
// was committed without one.
func TestDeadLetterOfRecordWithDLQHeadersIsNotLost(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	big := kgo.RecordHeader{Key: "hindsight.dlq.note", Value: []byte(strings.Repeat("n", 999_850))}
	b.Produce(t,
		&kgo.Record{Topic: "events", Value: []byte(`{"type":"no key"}`), Headers: []kgo.RecordHeader{big}},
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"ok"}`)},
	)
	h := &collectHandler{events: map[int64]string{}}
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-headers", ShutdownTimeout: 5 * time.Second}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ec.Run(ctx) }()
	dlq := b.Consume(t, "events.dlq", 1, 15*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("consumer: %v", err)
	}
	if len(dlq) != 1 {
		t.Fatalf("%d dead letters for the keyless record at offset 0, want 1", len(dlq))
	}
	if n := RecordBytes(dlq[0]); n > DefaultDeadLetterMaxBytes {
		t.Errorf("dead letter of %d bytes, above the %d-byte limit", n, DefaultDeadLetterMaxBytes)
	}
}

// TestDeadLetterCutToItsBound: an invalid record's dead letter over
// --dead-letter-max-bytes, which the dead-letter topic would take whole, is cut to the
// bound before it is produced, says its size before in HeaderOriginalBytes, and is
// counted by OnDeadLetterCut. The rerouter's cut of a dead letter its topic refuses as
// too large hid a consumer that never cut: only the bound, not the topic, says how
// large a dead letter may be.
func TestDeadLetterCutToItsBound(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	const bound = 2000
	value := []byte(`{"type":"` + strings.Repeat("v", 10_000) + `"}`)
	b.Produce(t, &kgo.Record{Topic: "events", Value: value}) // no key
	h := &collectHandler{events: map[int64]string{}}
	var mu sync.Mutex
	n := 0
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-bound", ShutdownTimeout: 5 * time.Second,
		DeadLetterMaxBytes: bound, OnDeadLetterCut: func() { mu.Lock(); n++; mu.Unlock() }}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ec.Run(ctx) }()
	dlq := b.Consume(t, "events.dlq", 1, 15*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("consumer: %v", err)
	}
	if len(dlq) != 1 {
		t.Fatalf("%d dead letters for the keyless record, want 1", len(dlq))
	}
	dl := dlq[0]
	if got := RecordBytes(dl); got > bound {
		t.Errorf("dead letter of %d bytes, above the %d-byte bound", got, bound)
	}
	orig := ""
	for _, hd := range dl.Headers {
		if hd.Key == HeaderOriginalBytes {
			orig = string(hd.Value)
		}
	}
	if orig == "" {
		t.Errorf("the cut dead letter has no %s header; headers %v", HeaderOriginalBytes, dl.Headers)
	}
	if len(dl.Value) == 0 || !bytes.HasPrefix(value, dl.Value) {
		t.Errorf("dead letter's value is %d bytes, want a non-empty start of the record's %d", len(dl.Value), len(value))
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 1 {
		t.Errorf("OnDeadLetterCut called %d times, want 1", n)
	}
}
