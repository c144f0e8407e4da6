package ingest

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReasonNotProduced is the dead-letter reason of a record Hindsight made on behalf of
// events (an alert) and could not produce to its topic: the brokers refused it for
// good (after the client's retries), or it was over its size limit (--alert-max-bytes)
// with everything that may be cut cut. Such a dead letter's value is that record's,
// not an event: it is not to be replayed into the events topic.
const ReasonNotProduced = "not_produced"

// NotProducedErrorBytes bounds the error header of a NotProduced dead letter, so that
// a record within NotProducedRoom of the dead-letter bound keeps its whole value.
const NotProducedErrorBytes = 512

// NotProducedRoom is what NotProduced adds to a record at most, as RecordBytes counts:
// its three headers, with an error of NotProducedErrorBytes and a topic name of
// Kafka's longest, 249 bytes. A bound on records that may be dead-lettered so
// (live's --alert-max-bytes) is at least this below the dead-letter bound, so that
// their dead letters are whole.
const NotProducedRoom = 1 << 10

// ErrOverLimit is the cause of a record dead-lettered before it was produced because
// it is over its size limit.
var ErrOverLimit = errors.New("record over its size limit")

// NotProduced builds the dead letter of rec, a record made on behalf of events that
// could not be produced for cause: the same key, value and timestamp, rec's headers,
// then the reason, the cause and the topic rec was bound for. It has no partition or
// offset header: rec was never stored; the alert in its value names the event that
// raised it.
func NotProduced(rec *kgo.Record, deadLetters string, cause error) *kgo.Record {
	msg := cause.Error()
	if len(msg) > NotProducedErrorBytes {
		msg = strings.ToValidUTF8(msg[:NotProducedErrorBytes-3], "") + "..."
	}
	h := make([]kgo.RecordHeader, 0, len(rec.Headers)+notProducedHeaders)
	h = append(h, rec.Headers...)
	h = append(h, // notProducedHeaders of them
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(ReasonNotProduced)},
		kgo.RecordHeader{Key: HeaderError, Value: []byte(msg)},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(rec.Topic)},
	)
	return &kgo.Record{Topic: deadLetters, Key: rec.Key, Value: rec.Value, Headers: h, Timestamp: rec.Timestamp}
}

// Rerouter sends to the dead-letter topic the records made on behalf of events that
// the brokers refused for good, so that an alert the alerts topic would not take is
// kept, with the reason, rather than lost behind a committed offset. It produces from
// a goroutine of its own per record, because a produce promise must not block on its
// client (franz-go: a Produce inside a promise can wait on the promise worker itself);
// Flush waits for them. A dead letter its topic refuses as too large (a
// max.message.bytes below --dead-letter-max-bytes) is cut further and produced again.
type Rerouter struct {
	cl          *kgo.Client
	deadLetters string
	maxBytes    int
	onCut       func() // nil: none
	m           *Metrics
	log         *slog.Logger
	// reread is set when the records given to Failed hold their events' offsets
	// uncommitted until done (the event consumer's): one its client's close fails is
	// then not lost, its event is read again by the partition's next owner.
	reread bool
	// charge (nil: none) counts a held dead letter's heldCost toward what is pending
	// while it is held (negative: no longer), so that the bound on pending produce
	// bytes bounds the holds too.
	charge func(n int64)

	mu sync.Mutex
	// handing counts the dead letters whose goroutines have not yet handed them to
	// the client; handed is closed when it falls to 0 (and made anew when it rises).
	handing int
	handed  chan struct{}
	// holding counts the dead letters held (hold), of every partition; unheld is
	// closed when it falls to 0 (and made anew when it rises). A hold is not counted
	// in handing: FlushHolds waits for those of some partitions only.
	holding int
	unheld  chan struct{}
	// started counts the dead letters handed to goroutines or held so far, so that
	// Flush sees whether one failed and was produced again (or held) while it flushed.
	started int64

	refusalCounts
}

// NewRerouter dead-letters through cl to the topic deadLetters, each dead letter cut
// to maxBytes (CutDeadLetter), calling onCut (if not nil) for each cut.
func NewRerouter(cl *kgo.Client, deadLetters string, maxBytes int, onCut func(), m *Metrics, log *slog.Logger) *Rerouter {
	r := &Rerouter{cl: cl, deadLetters: deadLetters, maxBytes: maxBytes, onCut: onCut, m: m, log: log}
	r.handed, r.unheld = make(chan struct{}), make(chan struct{})
	close(r.handed)
	close(r.unheld)
	return r
}

// Failed handles rec, whose produce failed for good with err; done (if not nil) is
// called once its dead letter is delivered or has failed too. It may be called from
// a produce promise. A dead letter its topic refuses as too large is cut to half its
// size and produced again, done waiting for it, until it cannot be cut smaller: at
// its smallest it is lost, logged and counted in ProduceErrors, as the failure of rec
// was. A dead letter refused otherwise is held and produced again with backoff (hold)
// until its topic takes it. For the event consumer, a record its
// client's close failed (shutdown) is neither: its event's offset was not committed.
func (r *Rerouter) Failed(rec *kgo.Record, err error, done func()) {
	r.failed(rec, err, deadLetterEnd{done: done})
}

// FailedFor is Failed for a record that belongs to a partition: a dead letter of it
// the dead-letter topic refuses is held in held, and given up with them (given, if
// not nil, called instead of done), so that the partition's next owner, who raises
// the record again, is the only one to dead-letter it.
func (r *Rerouter) FailedFor(rec *kgo.Record, err error, held *Holds, done, given func()) {
	r.failed(rec, err, deadLetterEnd{done: done, holds: held, given: given})
}

// deadLetterEnd is what ends a record's dead letter: done (if not nil) once it is
// delivered or has failed; for one held for an events partition, holds (nil: held
// until delivered or the client closes), and given (if not nil) instead of done when
// the partition gives its holds up.
type deadLetterEnd struct {
	done  func()
	holds *Holds
	given func()
}

// failed is Failed for a record whose dead letter ends in end.
func (r *Rerouter) failed(rec *kgo.Record, err error, end deadLetterEnd) {
	done := end.done
	if errors.Is(err, kgo.ErrClientClosed) {
		if r.reread {
			r.log.Warn("a record made for events was not delivered before the client closed; its event's offset was not committed, so the event is read again and the record made anew",
				"topic", rec.Topic, "key", clip(rec.Key), "err", err)
		} else {
			// No dead letter: the closed client would refuse it the same way, and the
			// goroutine producing it would outlive its owner.
			r.m.ProduceErrors.WithLabelValues(rec.Topic).Inc()
			r.log.Error("a record made for events was not delivered before the client closed; it is lost", "topic", rec.Topic, "key", clip(rec.Key), "err", err)
		}
		if done != nil {
			done()
		}
		return
	}
	if rec.Topic == r.deadLetters {
		if again, ok := restamped(rec, err, time.Now()); ok {
			r.log.Warn("the dead-letter topic refused a dead letter for its timestamp (its event's, older than the topic takes); produced again stamped now, the event's time in "+HeaderTimestamp,
				"key", clip(rec.Key), "timestamp", rec.Timestamp, "err", err)
			r.produce(again, end)
			return
		}
		if !tooLarge(err) {
			r.hold(rec, err, end)
			return
		}
		if r.cutAgain(rec, err, end) {
			return
		}
		// Retried, it would be refused for ever.
		r.m.ProduceErrors.WithLabelValues(rec.Topic).Inc()
		r.log.Error("the dead-letter topic refused a dead letter as too large even cut to its dead-letter headers; what it stood for is lost",
			"key", clip(rec.Key), "bytes", RecordBytes(rec), "err", err)
		if done != nil {
			done()
		}
		return
	}
	r.m.ProduceErrors.WithLabelValues(rec.Topic).Inc()
	r.log.Error("producing a record made for events failed; it goes to the dead-letter topic", "topic", rec.Topic, "key", clip(rec.Key), "err", err)
	r.produce(r.DeadLetter(rec, err), end)
}

// cutAgain produces dl again, which its topic refused as too large, cut to half its
// size (cutFurther: the end of its value, its key, the original's headers), and
// reports whether it could be cut smaller. Halving keeps what the topic may yet take
// of the value, and reaches the dead letter's smallest (its own headers, nothing
// else) in a few tries.
func (r *Rerouter) cutAgain(dl *kgo.Record, err error, end deadLetterEnd) bool {
	again := &kgo.Record{Topic: dl.Topic, Key: dl.Key, Value: dl.Value, Headers: slices.Clone(dl.Headers), Timestamp: dl.Timestamp}
	size := RecordBytes(again)
	if !cutFurther(again, size/2) || RecordBytes(again) >= size {
		return false
	}
	r.log.Warn("the dead-letter topic refused a dead letter as too large (its max.message.bytes below --dead-letter-max-bytes); cut further and produced again",
		"key", clip(dl.Key), "bytes", size, "cut_to", RecordBytes(again), "err", err)
	r.produce(again, end)
	return true
}

// produce produces dead letter dl from a goroutine of its own (Failed runs in a
// promise) and calls end.done (if not nil) once it is delivered or failed is done with
// it.
func (r *Rerouter) produce(dl *kgo.Record, end deadLetterEnd) {
	r.starting()
	// It ends once the client has the record (at once, but when the client's buffer is
	// full), or has refused it (closed).
	go func() {
		defer r.handedOne()
		r.cl.Produce(context.Background(), dl, func(dl *kgo.Record, err error) {
			if err != nil {
				r.failed(dl, err, end)
				return
			}
			r.Delivered(dl)
			if end.done != nil {
				end.done()
			}
		})
	}()
}

// starting counts a goroutine about to hand a dead letter to the client, for Flush.
func (r *Rerouter) starting() {
	r.mu.Lock()
	if r.handing++; r.handing == 1 {
		r.handed = make(chan struct{})
	}
	r.started++
	r.mu.Unlock()
}

func (r *Rerouter) handedOne() {
	r.mu.Lock()
	if r.handing--; r.handing == 0 {
		close(r.handed)
	}
	r.mu.Unlock()
}

// holdStarting counts a dead letter about to be held, for Flush.
func (r *Rerouter) holdStarting() {
	r.mu.Lock()
	if r.holding++; r.holding == 1 {
		r.unheld = make(chan struct{})
	}
	r.started++
	r.mu.Unlock()
}

func (r *Rerouter) holdEnded() {
	r.mu.Lock()
	if r.holding--; r.holding == 0 {
		close(r.unheld)
	}
	r.mu.Unlock()
}

// tooLarge reports whether err is a refusal of a record or its batch for its size.
func tooLarge(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)
}

// notProducedHeaders is how many headers NotProduced adds, after the record's.
const notProducedHeaders = 3

// DeadLetter is the dead letter of rec, which could not be produced for cause, cut
// to the rerouter's bound: the end of its key first, then of its value. The value is
// what the dead letter is for (an alert over --alert-max-bytes even with its values
// cut keeps its alert whole, which names the event that raised it, while its key, the
// customer id of hundreds of KB, is cut: a key that long once had the alert cut to
// broken JSON instead).
func (r *Rerouter) DeadLetter(rec *kgo.Record, cause error) *kgo.Record {
	dl := NotProduced(rec, r.deadLetters, cause)
	if cutRecord(dl, r.maxBytes, true, notProducedHeaders) && r.onCut != nil {
		r.onCut()
	}
	return dl
}

// Delivered counts rec if it is a dead letter, by its reason.
func (r *Rerouter) Delivered(rec *kgo.Record) {
	if rec.Topic != r.deadLetters {
		return
	}
	reason := "unknown"
	for _, h := range rec.Headers {
		if h.Key == HeaderReason {
			reason = string(h.Value) // the last: a replayed dead letter keeps its old one first
		}
	}
	r.m.DeadLetters.WithLabelValues(reason).Inc()
	r.m.deadLetters.Add(1)
}

// Flush waits until every record produced through the rerouter's client so far, and
// the dead letters of those that fail (held ones too), are delivered or have failed,
// or ctx is done.
func (r *Rerouter) Flush(ctx context.Context) error {
	return r.flush(ctx, func() []<-chan struct{} {
		r.mu.Lock()
		defer r.mu.Unlock()
		return []<-chan struct{}{r.unheld}
	})
}

// FlushHolds is Flush waiting only for the dead letters held in held (those of the
// partitions being revoked, or snapshotted), not for those of other partitions: a
// revoke waited for a staying partition's dead letter the topic refused, and the
// group's rebalance with it, until its timeout
// (TestRevokeDoesNotWaitForAStayingPartitionsHeldDeadLetter).
func (r *Rerouter) FlushHolds(ctx context.Context, held ...*Holds) error {
	return r.flush(ctx, func() []<-chan struct{} {
		ended := make([]<-chan struct{}, 0, len(held))
		for _, h := range held {
			ch, _ := h.running()
			ended = append(ended, ch)
		}
		return ended
	})
}

// flush is Flush waiting for the holds whose ends holds gives.
func (r *Rerouter) flush(ctx context.Context, holds func() []<-chan struct{}) error {
	if err := r.cl.Flush(ctx); err != nil {
		return err
	}
	// Every failure's promise so far has run, so its dead letter's goroutine has
	// started (or its hold): once they have handed their records to the client (or
	// the holds waited for have ended), one more flush delivers them. A dead letter
	// refused as too large in that flush is produced again, cut (a few times at most:
	// each halves it), and one refused otherwise is held, so the flushes go on until
	// one ends with no dead letter started since it began.
	for {
		r.mu.Lock()
		handed, started := r.handed, r.started
		r.mu.Unlock()
		for _, ch := range append([]<-chan struct{}{handed}, holds()...) {
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := r.cl.Flush(ctx); err != nil {
			return err
		}
		r.mu.Lock()
		again := r.started != started
		r.mu.Unlock()
		if !again {
			return nil
		}
	}
}

// clip shortens a key for a log line.
func clip(key []byte) string {
	const most = 200
	if len(key) > most {
		return string(key[:most]) + "…"
	}
	return string(key)
}

// ProduceWaiting produces rec on cl, waiting for room in cl's buffer until ctx ends,
// and reports whether it was handed over before ctx ended. Only the wait is ctx's:
// franz-go fails a buffered record, and holds one for a topic it does not know yet,
// by the context given to Produce (not Record.Context), so a buffered record given
// ctx was failed when ctx ended, where a flush would have sent it. The record gets a
// context of its own, which ctx ends only while Produce waits. When ProduceWaiting
// reports false the record may have been failed with context.Canceled.
func ProduceWaiting(ctx context.Context, cl *kgo.Client, rec *kgo.Record, promise func(*kgo.Record, error)) bool {
	wait, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	cl.Produce(wait, rec, promise)
	return stop()
}

// CloseClient closes cl and waits, at most until ctx is done, for the promises of the
// records the close failed: franz-go fails what is still buffered from a goroutine of
// its own and returns before it is done, so those promises (a Rerouter's Failed, the
// counts of what is pending) would otherwise run on after their owner stopped.
func CloseClient(ctx context.Context, cl *kgo.Client, allowingRebalance bool) {
	if allowingRebalance {
		cl.CloseAllowingRebalance()
	} else {
		cl.Close()
	}
	_ = cl.Flush(ctx) // after a close, it only waits for the buffered records' promises
}
