package ingest

import (
	"iter"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatime"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
)

// Dead-letter reasons, the value of the HeaderReason header. The check that gives them
// is verdict.Accept, which the archiver applies too: what is dead-lettered here is never
// archived, so backfill counts what live counts.
const (
	ReasonMissingKey  = verdict.ReasonMissingKey  // no customer id in the record key
	ReasonInvalidKey  = verdict.ReasonInvalidKey  // the key is not valid UTF-8
	ReasonKeyTooLong  = verdict.ReasonKeyTooLong  // the key is longer than max_customer_bytes
	ReasonInvalidJSON = verdict.ReasonInvalidJSON // the value is not one JSON document
	ReasonTooDeep     = verdict.ReasonTooDeep     // the value nests deeper than the JSON engine allows
)

// Dead-letter headers, added to the original record's own headers.
const (
	HeaderReason    = "hindsight.dlq.reason"
	HeaderError     = "hindsight.dlq.error"
	HeaderTopic     = "hindsight.dlq.topic"
	HeaderPartition = "hindsight.dlq.partition"
	HeaderOffset    = "hindsight.dlq.offset"
	// HeaderTimestamp is on a dead letter whose record's timestamp the Kafka client
	// cannot write (kafkatime.Writable: before 1677-09-21T00:12:43.145Z or after
	// 2262-04-11T23:47:16.854Z), last: the record's timestamp, Unix ms in decimal. The
	// dead letter is then stamped with the nearest time the client can write. It is
	// also on one its topic refused for its timestamp (INVALID_TIMESTAMP), which is
	// then produced again stamped now (restamped), after HeaderOffset.
	HeaderTimestamp = "hindsight.dlq.timestamp"
	// HeaderOriginalBytes is on a dead letter cut to EventsConfig.DeadLetterMaxBytes,
	// and on a record whose key CutKey cut (the notify stage's undelivered records):
	// the bytes of the record's key, value and headers before it was cut.
	HeaderOriginalBytes = "hindsight.dlq.original_bytes"
)

// Event is one valid event. It and its Doc are only valid until the iteration moves on.
type Event struct {
	// Customer is the record key. It aliases the fetched record: clone it to keep it.
	Customer  string
	Partition int32
	Offset    int64
	// Time is the record timestamp, the event time.
	Time time.Time
	// Doc is the parsed value.
	Doc    *jsonpath.Document
	Record *kgo.Record
}

// Batch is the records of one partition from one poll.
type Batch struct {
	Partition int32
	// HighWatermark is the partition's end offset at the time of the fetch.
	HighWatermark int64
	// TopicID is Kafka's id of the events topic the records came from (zeros when the
	// brokers do not say, before Kafka 3.1): a topic made again has another.
	TopicID [16]byte
	// recs are the fetched records, transaction markers among them: they hold no
	// event, and take offsets that the partition's position must pass (batchOf).
	recs    []*kgo.Record
	markers int
	bytes   int64 // of the records' keys, values and headers, for EventsConfig.MaxQueuedBytes
	c       *EventConsumer
	ps      *partState
	ev      Event
	tap     BatchTap // nil: none
}

// NextOffset is the offset after the batch's last record, a transaction marker
// included: where the partition's reading goes on.
func (b *Batch) NextOffset() int64 { return b.recs[len(b.recs)-1].Offset + 1 }

// Len is the number of event records in the batch, valid or not (transaction markers
// left out).
func (b *Batch) Len() int { return len(b.recs) - b.markers }

// Events yields the batch's valid events in offset order, sending invalid records to
// the dead-letter topic on the way.
func (b *Batch) Events() iter.Seq[*Event] {
	return func(yield func(*Event) bool) {
		// The partition's Document outlives the batch: it must not pin this fetch,
		// nor an index grown for one large event, for as long as the partition is
		// owned.
		defer b.ps.doc.Release()
		m := b.c.cfg.Metrics
		m.Events.Add(float64(b.Len()))
		for i, r := range b.recs {
			if b.markers > 0 && r.Attrs.IsControl() {
				continue
			}
			if reason, err := verdict.Accept(b.ps.doc, r.Key, r.Value); err != nil {
				if b.tap != nil {
					b.tap.Refused(i, reason)
				}
				b.deadLetter(r, reason, err)
				continue
			}
			b.ev = Event{Customer: unsafe.String(unsafe.SliceData(r.Key), len(r.Key)), Partition: r.Partition, Offset: r.Offset, Time: kafkatime.Of(r), Doc: b.ps.doc, Record: r}
			if !yield(&b.ev) {
				return
			}
			if b.tap != nil {
				b.tap.Accepted(i, b.ps.doc) // after the handler: its alerts do not wait for the tap
			}
		}
	}
}

// Emit produces rec on behalf of ev without waiting. The event's offset is not
// committed until rec is delivered, or, when the brokers refuse it for good, until
// its dead letter (ReasonNotProduced) is delivered or has failed too.
func (b *Batch) Emit(ev *Event, rec *kgo.Record) {
	b.c.emit(b.ps, ev.Offset, rec)
}

// DeadLetterFor sends rec, made on behalf of ev and not to be produced to its own
// topic for cause (e.g. ErrOverLimit), to the dead-letter topic instead, like Emit.
func (b *Batch) DeadLetterFor(ev *Event, rec *kgo.Record, cause error) {
	b.c.emit(b.ps, ev.Offset, b.c.reroute.DeadLetter(rec, cause))
}

func (b *Batch) deadLetter(r *kgo.Record, reason string, cause error) {
	rec := DeadLetter(r, b.c.cfg.Topics.DeadLetters, reason, cause)
	if CutDeadLetter(rec, b.c.cfg.DeadLetterMaxBytes) && b.c.cfg.OnDeadLetterCut != nil {
		b.c.cfg.OnDeadLetterCut()
	}
	b.c.emit(b.ps, r.Offset, rec)
}

// RecordBytes is what DeadLetterMaxBytes (and live's alert bound) bounds: the record
// as the client encodes it in a batch, key, value and headers with their length
// prefixes and the record's own framing, at its largest. The prefixes count: 20,000
// empty headers are 40,000 bytes on the wire, enough to take a record under the bound
// past the client's.
func RecordBytes(r *kgo.Record) int {
	n := recordFraming + varintLen(len(r.Key)) + len(r.Key) + varintLen(len(r.Value)) + len(r.Value) + varintLen(len(r.Headers))
	for _, h := range r.Headers {
		n += headerBytes(h)
	}
	return n
}

// heldBytes is what --max-queued-bytes counts of a record: its key, value and headers,
// which the fetch holds alike (the broker bounds the record, not its parts: a
// megabyte of headers beside a value of {} is as heavy as a megabyte's value). Each
// header counts its kgo.RecordHeader too: an empty header is 2 bytes on the wire but
// a 40-byte struct in memory (64-bit), so events of empty headers counted by their
// keys and values alone passed the bound as if empty while holding 20 times their
// size on the wire.
func heldBytes(r *kgo.Record) int64 {
	n := len(r.Key) + len(r.Value) + len(r.Headers)*int(unsafe.Sizeof(kgo.RecordHeader{}))
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}

// producedBytes is what --max-pending-produce-bytes counts of a record produced for
// events: its key, value and headers' keys and values, as the client counts its
// buffered records (kgo.Client.BufferedProduceBytes), so that
// hindsight_produce_pending_bytes reads as the client's own figure.
func producedBytes(r *kgo.Record) int64 {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}

// recordFraming is a record's fields besides key, value and headers at their largest:
// its length (5 bytes), attributes (1), timestamp delta (10) and offset delta (5).
const recordFraming = 21

func headerBytes(h kgo.RecordHeader) int {
	return varintLen(len(h.Key)) + len(h.Key) + varintLen(len(h.Value)) + len(h.Value)
}

// varintLen is the size of n as a Kafka (zigzag) varint.
func varintLen(n int) int {
	u, size := uint64(n)<<1, 1
	for ; u >= 0x80; u >>= 7 {
		size++
	}
	return size
}

// CutDeadLetter cuts dead letter rec (as DeadLetter builds it) to at most limit bytes
// (recordBytes), and reports whether it had to: it drops the end of the value, then of
// the key, then the original record's headers, keeping the dead-letter headers
// DeadLetter added, and adds HeaderOriginalBytes. The original's headers go whatever
// their names: a dead letter replayed into the events topic carries hindsight.dlq.
// headers of its own, which once stayed, left the record over the limit, and had the
// broker refuse it.
func CutDeadLetter(rec *kgo.Record, limit int) bool {
	ours := deadLetterHeaders
	if n := len(rec.Headers); n > 0 && rec.Headers[n-1].Key == HeaderTimestamp {
		ours++ // after the five, so an original's header of that name is never last
	}
	return cutRecord(rec, limit, false, ours)
}

// CutKey cuts the end of rec's key to at most n bytes (at a UTF-8 character's start),
// never its value, and reports whether it had to; a record cut so carries
// HeaderOriginalBytes, its size (RecordBytes) before, as a cut dead letter does. For a
// record whose value holds its key whole (a notify stage's undelivered record, whose
// alert names the customer): a customer id of hundreds of KB would otherwise take the
// record past what the client and the brokers take.
func CutKey(rec *kgo.Record, n int) bool {
	if len(rec.Key) <= n {
		return false
	}
	size := RecordBytes(rec)
	for n > 0 && !utf8.RuneStart(rec.Key[n]) {
		n--
	}
	rec.Key = rec.Key[:n]
	rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: HeaderOriginalBytes, Value: strconv.AppendInt(nil, int64(size), 10)})
	return true
}

// cutFurther cuts dead letter rec (as DeadLetter or NotProduced build it, cut before or
// not) to at most limit bytes, as CutDeadLetter or Rerouter.DeadLetter cut it, and
// reports whether it had to: for a dead letter its topic refused as too large. Its
// headers from the last HeaderReason on are the ones added to the original's (an
// original's own come before them, a replayed dead letter's older reason too).
func cutFurther(rec *kgo.Record, limit int) bool {
	reason := -1
	for i := len(rec.Headers) - 1; i >= 0; i-- {
		if rec.Headers[i].Key == HeaderReason {
			reason = i
			break
		}
	}
	if reason < 0 {
		return false
	}
	ours := len(rec.Headers) - reason
	if rec.Headers[len(rec.Headers)-1].Key == HeaderOriginalBytes {
		ours-- // cutRecord keeps it after ours
	}
	return cutRecord(rec, limit, string(rec.Headers[reason].Value) == ReasonNotProduced, ours)
}

// cutRecord cuts rec to at most limit bytes as CutDeadLetter does, the end of its key
// first if keyFirst, keeping the last ours headers (and HeaderOriginalBytes after them).
func cutRecord(rec *kgo.Record, limit int, keyFirst bool, ours int) bool {
	size := RecordBytes(rec)
	if size <= limit {
		return false
	}
	// A dead letter cut before (refused by its topic as too large, cut further) ends in
	// HeaderOriginalBytes already, which says its size before the first cut: kept as it
	// is. One not cut yet ends in a header of ours.
	if n := len(rec.Headers); n == 0 || rec.Headers[n-1].Key != HeaderOriginalBytes {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: HeaderOriginalBytes, Value: strconv.AppendInt(nil, int64(size), 10)})
	}
	over := RecordBytes(rec) - limit
	cut := func(b []byte) []byte {
		n := max(0, min(over, len(b)))
		over -= n
		return b[:len(b)-n]
	}
	// Measured again after each cut: a shorter value or key may have a shorter length
	// prefix too.
	first, second := &rec.Value, &rec.Key
	if keyFirst {
		first, second = second, first
	}
	*first = cut(*first)
	over = RecordBytes(rec) - limit
	*second = cut(*second)
	over = RecordBytes(rec) - limit
	// Our headers and HeaderOriginalBytes end the list; the original's come first. The
	// leading ones that must go are counted, then deleted in one move: deleted one at a
	// time, each deletion moved every header after it, and a record of 499,000 empty
	// headers took 6.4 s to cut.
	k := 0
	for original := len(rec.Headers) - ours - 1; over > 0 && k < original; k++ {
		over -= headerBytes(rec.Headers[k])
	}
	rec.Headers = slices.Delete(rec.Headers, 0, k)
	return true
}

// deadLetterHeaders is how many headers DeadLetter adds, after the original's (one
// more, HeaderTimestamp, for a timestamp the client cannot write).
const deadLetterHeaders = 5

// DeadLetter builds the dead-letter record for r: same key, value and timestamp, and
// r's headers plus the reason, cause, and r's topic, partition and offset. A timestamp
// the Kafka client cannot write (kafkatime.Writable) is written as the nearest one it
// can, and the record's own in HeaderTimestamp.
func DeadLetter(r *kgo.Record, topic, reason string, cause error) *kgo.Record {
	at := kafkatime.Of(r)
	ts, writable := kafkatime.Writable(at)
	if r.Timestamp.IsZero() { // not read from Kafka: the client stamps it when producing, as before
		ts, writable = r.Timestamp, true
	}
	h := slices.Clip(slices.Clone(r.Headers))
	h = append(h, // deadLetterHeaders of them
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderError, Value: []byte(cause.Error())},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
	)
	if !writable {
		ts = kafkatime.NearestWritable(at)
		h = append(h, kgo.RecordHeader{Key: HeaderTimestamp, Value: strconv.AppendInt(nil, at.UnixMilli(), 10)})
	}
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: h, Timestamp: ts}
}
