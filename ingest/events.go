package ingest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
)

// Dead-letter reasons, the value of the HeaderReason header. The check that gives them
// is verdict.Accept, which the archiver applies too: what is dead-lettered here is never
// archived, so backfill counts what live counts.
const (
	ReasonMissingKey  = verdict.ReasonMissingKey  // no customer id in the record key
	ReasonInvalidKey  = verdict.ReasonInvalidKey  // the key is not valid UTF-8
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
)

// EventsConfig configures an EventConsumer.
type EventsConfig struct {
	Kafka  KafkaConfig
	Topics Topics
	// Group is the consumer group id. Default "hindsight-live".
	Group string
	// StartAt is where a group without committed offsets starts: "earliest" (default)
	// or "latest".
	StartAt string
	// CommitInterval is how often handled offsets are committed. Default 1s.
	CommitInterval time.Duration
	// MaxQueuedRecords bounds the records taken from the client and not yet handled:
	// the consumer takes no further fetch while this many are queued to the workers,
	// unless fewer batches than workers are (a worker would idle). A poll takes what
	// the client holds, a fetch per broker at most (each at most FetchMaxBytes as
	// stored), so up to this, or a batch per worker, plus a fetch per broker are in
	// hand, and the client holds a fetch per broker more, decompressed.
	// It is also what a rebalance waits for. Default DefaultMaxQueuedRecords.
	MaxQueuedRecords int
	// FetchMaxBytes bounds the bytes (compressed, as stored) of one fetch from a
	// broker; a broker still sends a record batch larger than this whole. Default
	// DefaultFetchMaxBytes. Smaller fetches hold less memory at once, decompressed;
	// too small a fetch holds one partition's batch, and a poll of one partition
	// keeps one worker busy however many there are.
	FetchMaxBytes int32
	// ShutdownTimeout bounds the final flush of produced records and offset commit. Default 10s.
	ShutdownTimeout time.Duration
	// SessionTimeout is how long the group waits for a silent member (a crashed process)
	// before giving its partitions to the others. Default 0: franz-go's 45s. The broker
	// bounds it (group.min.session.timeout.ms, 6s on Kafka).
	SessionTimeout time.Duration
	// InstanceID, when set, makes this member static (KIP-345): a process restarted with
	// the same id takes its partitions back at once, without a rebalance and without
	// waiting for SessionTimeout. Default "": a dynamic member.
	InstanceID string
	// ProduceLinger is how long produced records (alerts, dead letters) may wait to be
	// batched. Default 0: sent at once (batching still happens while a request is in flight).
	ProduceLinger time.Duration
	// Logger receives operational logs. Default slog.Default().
	Logger *slog.Logger
	// Metrics receives ingest's series. Default: unregistered metrics.
	Metrics *Metrics
	// Tap, when set, receives every fetched record of the events topic before it is
	// handled (the live daemon's archiver feed); a TapPacer also holds fetches back.
	// Default nil.
	Tap RecordTap
	// OnQueueFull, when set, is called each time the consumer held the next fetch back
	// (once the wait is over) because MaxQueuedRecords events were queued and every
	// worker had a batch: the evaluation, not Kafka, sets the pace (as it does over a
	// backlog). Default nil.
	OnQueueFull func()
}

// RecordTap receives the records an EventConsumer fetches. Per partition, in order:
// Resume when the consumer starts reading it (at: its first offset, -1 when only the
// group's reset position knows), Fetched for each fetch as it is polled (from: the
// consumer's position before the records, -1 when not known, FromLogStart when no
// record precedes them in the partition), Revoked once it gave the
// partition up — after every batch of the partition was handled. Its methods must not
// block, and must not change the records.
type RecordTap interface {
	Resume(partition int32, at int64)
	// Fetched returns what follows the batch through its handling, or nil when the tap
	// wants nothing more of it.
	Fetched(partition int32, from int64, recs []*kgo.Record) BatchTap
	Revoked(partitions []int32)
}

// FromLogStart is RecordTap.Fetched's from when the consumer's position before the
// records is not known but no record precedes them: the first is at the partition's
// log start offset (a group new to the topic reading it from the start).
const FromLogStart = -2

// TapPacer is a RecordTap that may hold the consumer's next fetch back: the consumer
// calls WaitRoom before each poll and polls once it returns, which it must when ctx
// ends. The live daemon's archiver feed waits so for room rather than drop batches.
type TapPacer interface {
	RecordTap
	WaitRoom(ctx context.Context)
}

// BatchTap follows one fetched batch through its handling, so that what the consumer
// learned of each record — its verdict and its parse — is not computed again by
// whoever else reads the batch (the archiver). Accepted (once the handler is done with
// the event) or Refused is called for each record the handler reached, in offset order
// (i: the record's index in the batch; doc: its parse, valid only during the call),
// from the goroutine handling the batch; then Handled, once, after the handler
// returned, whether or not it reached them all.
type BatchTap interface {
	Accepted(i int, doc *jsonpath.Document)
	Refused(i int, reason string)
	Handled()
}

// EnsureDefaults fills unset fields with their documented defaults.
func (c *EventsConfig) EnsureDefaults() {
	c.Kafka.EnsureDefaults()
	c.Topics.EnsureDefaults()
	if c.Group == "" {
		c.Group = "hindsight-live"
	}
	if c.StartAt == "" {
		c.StartAt = "earliest"
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = time.Second
	}
	if c.MaxQueuedRecords <= 0 {
		c.MaxQueuedRecords = DefaultMaxQueuedRecords
	}
	if c.FetchMaxBytes <= 0 {
		c.FetchMaxBytes = DefaultFetchMaxBytes
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
}

// Validate reports configuration mistakes.
func (c *EventsConfig) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.Topics.Validate(); err != nil {
		return err
	}
	if c.StartAt != "earliest" && c.StartAt != "latest" {
		return fmt.Errorf("start-at %q: use earliest or latest", c.StartAt)
	}
	return nil
}

// DefaultMaxQueuedRecords is EventsConfig.MaxQueuedRecords' default: a few
// milliseconds of the workers' work, so that a fetch waiting in the client is taken
// before they run dry, and little more is held. When the workers are faster than the
// fetches, nothing stays queued and the bound never binds.
const DefaultMaxQueuedRecords = 3000

// DefaultFetchMaxBytes is EventsConfig.FetchMaxBytes' default: about 25,000 events of
// 600 bytes as a franz-go producer compresses them, record batches of several
// partitions. The README's limits table has the figures of `hindsight bench
// throughput --fetch-max-bytes` against 1 and 2 MiB.
const DefaultFetchMaxBytes = 4 << 20

// Handler receives the events of the partitions this consumer owns.
//
// Assigned is called before the first batch of newly owned partitions and Revoked after
// the last batch of partitions given up (revoked or lost); for revoked ones (not lost),
// records produced for their events were flushed and their offsets committed first, and
// Delivered still answers for them during Revoked. HandleBatch is called for one
// partition at a time in offset order, concurrently for different partitions, never
// concurrently with Assigned or Revoked. When it returns the batch counts as handled.
type Handler interface {
	Assigned(partitions []int32)
	Revoked(partitions []int32)
	HandleBatch(b *Batch)
}

// Positioner is implemented by Handlers that choose where newly assigned partitions
// resume, e.g. at the offset of a restored snapshot. ResumeAt is called after Assigned,
// before the first fetch, with the group's committed offset of each newly assigned
// partition (-1 when none is committed); partitions it returns resume at the given
// offset, the others at their committed offset (else where StartAt says).
type Positioner interface {
	ResumeAt(committed map[int32]int64) map[int32]int64
}

// CommitLimiter is implemented by Handlers that hold back commits of a partition:
// while CommitLimit says limited, the partition's offsets are not committed past
// offset (a negative offset: not at all). The daemon holds back a partition's first
// commit until its state has a durable snapshot, so that a restart either restores
// that state or starts again where this process started.
type CommitLimiter interface {
	CommitLimit(partition int32) (offset int64, limited bool)
}

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
	recs          []*kgo.Record
	c             *EventConsumer
	ps            *partState
	ev            Event
	tap           BatchTap // nil: none
}

// NextOffset is the offset after the batch's last record.
func (b *Batch) NextOffset() int64 { return b.recs[len(b.recs)-1].Offset + 1 }

// Len is the number of records in the batch, valid or not.
func (b *Batch) Len() int { return len(b.recs) }

// Events yields the batch's valid events in offset order, sending invalid records to
// the dead-letter topic on the way.
func (b *Batch) Events() iter.Seq[*Event] {
	return func(yield func(*Event) bool) {
		m := b.c.cfg.Metrics
		m.Events.Add(float64(len(b.recs)))
		for i, r := range b.recs {
			if reason, err := verdict.Accept(b.ps.doc, r.Key, r.Value); err != nil {
				if b.tap != nil {
					b.tap.Refused(i, reason)
				}
				b.deadLetter(r, reason, err)
				continue
			}
			b.ev = Event{Customer: unsafe.String(unsafe.SliceData(r.Key), len(r.Key)), Partition: r.Partition, Offset: r.Offset, Time: r.Timestamp, Doc: b.ps.doc, Record: r}
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
// committed until rec is delivered or has failed; done, if not nil, is called then.
func (b *Batch) Emit(ev *Event, rec *kgo.Record, done func(*kgo.Record, error)) {
	b.c.emit(b.ps, ev.Offset, rec, done)
}

func (b *Batch) deadLetter(r *kgo.Record, reason string, cause error) {
	b.c.cfg.Metrics.DeadLetters.WithLabelValues(reason).Inc()
	b.c.cfg.Metrics.deadLetters.Add(1)
	b.c.emit(b.ps, r.Offset, DeadLetter(r, b.c.cfg.Topics.DeadLetters, reason, cause), nil)
}

// DeadLetter builds the dead-letter record for r: same key, value and timestamp, and
// r's headers plus the reason, cause, and r's topic, partition and offset.
func DeadLetter(r *kgo.Record, topic, reason string, cause error) *kgo.Record {
	h := slices.Clip(slices.Clone(r.Headers))
	h = append(h,
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderError, Value: []byte(cause.Error())},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
	)
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: h, Timestamp: r.Timestamp}
}

// EventConsumer consumes the events topic as a member of a consumer group.
type EventConsumer struct {
	cfg EventsConfig
	h   Handler
	cl  *kgo.Client
	log *slog.Logger

	// commitMu serialises commits with rebalances, so that an offset is never committed
	// for a partition this member no longer owns.
	commitMu sync.Mutex
	// partsMu guards parts; the poll loop only reads it, so it never waits for a commit.
	partsMu sync.RWMutex
	parts   map[int32]*partState
	// inflight counts the batches handed to workers and not yet handled. The poll loop
	// does not wait for them (dispatch) but to bound them; a rebalance callback and the
	// shutdown wait for all.
	inflight inflightCount
	runq     runQueue
}

// inflightCount counts the batches and records in flight. Unlike a WaitGroup it may be
// waited on while it grows: a lost partition's callback is not assured to be kept
// apart from the poll loop, and must not panic when it is not. fell.L is mu.
type inflightCount struct {
	mu         sync.Mutex
	n, records int
	fell       sync.Cond // broadcast whenever a batch is done
}

func (f *inflightCount) add(records int) {
	f.mu.Lock()
	f.n++
	f.records += records
	f.mu.Unlock()
}

func (f *inflightCount) done(records int) {
	f.mu.Lock()
	f.n--
	f.records -= records
	f.fell.Broadcast()
	f.mu.Unlock()
}

// wait returns once no batch is in flight.
func (f *inflightCount) wait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.n > 0 {
		f.fell.Wait()
	}
}

// waitRoom returns once fewer than maxRecords records, or fewer than workers batches,
// are in flight, and whether it had to wait. Records are counted out a batch at a
// time, so a bound on records alone would hold the next fetch back while the last
// large batch ran and the other workers idled.
func (f *inflightCount) waitRoom(maxRecords, workers int) (waited bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.records >= maxRecords && f.n >= workers {
		waited = true
		f.fell.Wait()
	}
	return waited
}

// runQueue holds the partitions with batches to handle and no worker on them, in the
// order they became ready. A partition is in it, or being handled, exactly while its
// pending list is not empty (partState.queued): so its batches run one at a time and
// in order, and the poll loop never waits for a partition's previous batch. ready.L
// is mu.
type runQueue struct {
	mu     sync.Mutex
	ready  sync.Cond
	parts  []*partState
	closed bool
}

// push queues b behind its partition's pending batches.
func (q *runQueue) push(b *Batch) {
	q.mu.Lock()
	ps := b.ps
	ps.pending = append(ps.pending, b)
	if !ps.queued {
		ps.queued = true
		q.parts = append(q.parts, ps)
		q.ready.Signal()
	}
	q.mu.Unlock()
}

// next takes the first pending batch of the partition longest ready; nil once the
// queue is closed and empty.
func (q *runQueue) next() *Batch {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.parts) == 0 {
		if q.closed {
			return nil
		}
		q.ready.Wait()
	}
	ps := q.parts[0]
	q.parts[0] = nil
	q.parts = q.parts[1:]
	b := ps.pending[0]
	ps.pending[0] = nil
	ps.pending = ps.pending[1:]
	return b
}

// handled ends b's turn: its partition goes to the back of the queue with its next
// batch, if it has one, so that partitions take turns on the workers.
func (q *runQueue) handled(b *Batch) {
	q.mu.Lock()
	if ps := b.ps; len(ps.pending) > 0 {
		q.parts = append(q.parts, ps)
		q.ready.Signal()
	} else {
		ps.queued = false
	}
	q.mu.Unlock()
}

func (q *runQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.ready.Broadcast()
	q.mu.Unlock()
}

// partState is what the consumer keeps per owned partition.
type partState struct {
	id  int32
	doc *jsonpath.Document

	mu sync.Mutex // guards the fields below; produce callbacks touch holds
	// handled is the offset after the last handled record (-1: none yet).
	handled   kgo.EpochOffset
	committed int64
	// holds are offsets with records still being produced on their behalf, ascending.
	holds []hold
	// leaving is set once the partition is being revoked: periodic commits skip it.
	leaving bool
	// fetched is the offset after the last record fetched (and handed to the tap),
	// or where the partition resumed (-1: not known): where its next fetch must
	// start for no event to go unread.
	fetched int64
	// pending are the partition's batches not yet handled, in offset order, the first
	// perhaps being handled; queued is set while it is not empty. Both are guarded by
	// the consumer's runQueue.mu.
	pending []*Batch
	queued  bool
}

func (s *partState) isLeaving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leaving
}

type hold struct {
	offset int64
	n      int
}

func newPartState(p int32) *partState {
	return &partState{id: p, doc: jsonpath.NewDocument(), handled: kgo.EpochOffset{Epoch: -1, Offset: -1}, committed: -1, fetched: -1}
}

func (s *partState) hold(offset int64) {
	s.mu.Lock()
	if n := len(s.holds); n > 0 && s.holds[n-1].offset == offset {
		s.holds[n-1].n++
	} else {
		s.holds = append(s.holds, hold{offset: offset, n: 1})
	}
	s.mu.Unlock()
}

func (s *partState) release(offset int64) {
	s.mu.Lock()
	i := sort.Search(len(s.holds), func(i int) bool { return s.holds[i].offset >= offset })
	if i < len(s.holds) && s.holds[i].offset == offset {
		s.holds[i].n--
	}
	s.mu.Unlock()
}

// committable is the offset that may be committed: after the last handled record, but
// not past a record whose produced records are still in flight.
func (s *partState) committable() (kgo.EpochOffset, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	for i < len(s.holds) && s.holds[i].n == 0 {
		i++
	}
	s.holds = s.holds[i:]
	off := s.handled
	if len(s.holds) > 0 && s.holds[0].offset < off.Offset {
		off.Offset = s.holds[0].offset
	}
	return off, off.Offset >= 0 && off.Offset > s.committed
}

// NewEventConsumer connects to the brokers; consumption starts with Run.
func NewEventConsumer(cfg EventsConfig, h Handler) (*EventConsumer, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ingest: events consumer: %w", err)
	}
	c := &EventConsumer{cfg: cfg, h: h, log: cfg.Logger, parts: map[int32]*partState{}}
	c.inflight.fell.L = &c.inflight.mu
	c.runq.ready.L = &c.runq.mu
	reset := kgo.NewOffset().AtStart()
	if cfg.StartAt == "latest" {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics.Events),
		kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
		kgo.ProducerLinger(cfg.ProduceLinger),
		// Alerts and dead letters are few and small: compressing them buys little and
		// costs latency and CPU on the hot path.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(1 << 20),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.FetchMaxBytes(cfg.FetchMaxBytes),
	}
	if cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout), kgo.HeartbeatInterval(max(cfg.SessionTimeout/4, 50*time.Millisecond)))
	}
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	if pos, ok := h.(Positioner); ok || cfg.Tap != nil {
		opts = append(opts, kgo.AdjustFetchOffsetsFn(c.adjustOffsets(pos)))
	}
	cl, err := cfg.Kafka.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	c.cl = cl
	return c, nil
}

// Client is the underlying client, e.g. for producing records not tied to an event.
func (c *EventConsumer) Client() *kgo.Client { return c.cl }

func (c *EventConsumer) emit(ps *partState, offset int64, rec *kgo.Record, done func(*kgo.Record, error)) {
	ps.hold(offset)
	// Background, not the run context: records of handled events must still be
	// delivered while shutting down (bounded by the final flush).
	c.cl.Produce(context.Background(), rec, func(r *kgo.Record, err error) {
		if err != nil {
			c.cfg.Metrics.ProduceErrors.WithLabelValues(r.Topic).Inc()
			c.log.Error("producing record for event failed; the event's offset is committed anyway",
				"topic", r.Topic, "event_partition", ps.id, "event_offset", offset, "err", err)
		}
		ps.release(offset)
		if done != nil {
			done(r, err)
		}
	})
}

func (c *EventConsumer) part(p int32) *partState {
	c.partsMu.RLock()
	ps, ok := c.parts[p]
	c.partsMu.RUnlock()
	if ok {
		return ps
	}
	c.partsMu.Lock() // defensive: fetches follow assignment, but never lose a record over it
	defer c.partsMu.Unlock()
	if ps, ok = c.parts[p]; !ok {
		ps = newPartState(p)
		c.parts[p] = ps
	}
	return ps
}

func (c *EventConsumer) onAssigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	ps := m[c.cfg.Topics.Events]
	if len(ps) == 0 {
		return
	}
	c.inflight.wait() // no HandleBatch runs with Assigned
	slices.Sort(ps)
	c.partsMu.Lock()
	for _, p := range ps {
		if _, owned := c.parts[p]; !owned { // a repeated assignment keeps its progress
			c.parts[p] = newPartState(p)
		}
		c.cfg.Metrics.Unread.WithLabelValues(strconv.Itoa(int(p))) // a zero, so that a dashboard sees the series
	}
	c.partsMu.Unlock()
	c.log.Info("partitions assigned", "topic", c.cfg.Topics.Events, "partitions", ps)
	c.h.Assigned(ps)
}

// adjustOffsets asks pos (if not nil) where the newly assigned partitions resume, and
// tells the tap.
func (c *EventConsumer) adjustOffsets(pos Positioner) func(context.Context, map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	return func(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
		ps := offsets[c.cfg.Topics.Events]
		if len(ps) == 0 {
			return offsets, nil
		}
		committed := make(map[int32]int64, len(ps))
		for p, o := range ps {
			// Without a commit the offset is the reset position, a negative sentinel.
			committed[p] = max(o.EpochOffset().Offset, -1)
		}
		var resume map[int32]int64
		if pos != nil {
			resume = pos.ResumeAt(committed)
		}
		for p, at := range resume {
			if _, ok := ps[p]; ok && at >= 0 {
				// Epoch -1: the resume point is ours, not the log's, so no truncation check.
				ps[p] = kgo.NewOffset().At(at).WithEpoch(-1)
			}
		}
		// Everything below the resume point was handled (by an earlier owner), so
		// Delivered can answer before the first batch.
		c.partsMu.RLock()
		for p := range ps {
			at, ok := resume[p]
			if !ok {
				at = committed[p]
			}
			if s := c.parts[p]; s != nil && at >= 0 {
				s.mu.Lock()
				if s.handled.Offset < 0 {
					s.handled = kgo.EpochOffset{Epoch: -1, Offset: at}
					s.committed = max(s.committed, committed[p])
				}
				s.fetched = at
				s.mu.Unlock()
			} else if s != nil {
				s.mu.Lock()
				s.fetched = max(committed[p], -1)
				s.mu.Unlock()
			}
			if c.cfg.Tap != nil {
				if at < 0 { // no resume point given: the consumer starts at its commit
					at = committed[p]
				}
				c.cfg.Tap.Resume(p, max(at, -1))
			}
		}
		c.partsMu.RUnlock()
		return offsets, nil
	}
}

// Delivered is the offset of partition p below which every record has been handled and
// everything produced on its behalf delivered (or failed and logged): what a commit
// would record now; -1 when nothing was handled or produced for p since it was assigned
// here and its resume point is not known. owned is false when p is not owned.
func (c *EventConsumer) Delivered(p int32) (offset int64, owned bool) {
	c.partsMu.RLock()
	ps := c.parts[p]
	c.partsMu.RUnlock()
	if ps == nil {
		return -1, false
	}
	off, _ := ps.committable()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if off.Offset < 0 && len(ps.holds) > 0 {
		// A first batch is in flight (handled is set when it returns): not yet.
		return ps.holds[0].offset, true
	}
	return off.Offset, true
}

func (c *EventConsumer) onRevoked(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	ps := m[c.cfg.Topics.Events]
	if len(ps) == 0 {
		return
	}
	c.inflight.wait() // the revoked partitions' batches are handled before their last commit
	slices.Sort(ps)
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	if err := c.cl.Flush(ctx); err != nil {
		c.log.Warn("flushing produced records before giving up partitions", "err", err)
	}
	c.commitMu.Lock()
	c.commitLocked(ctx, ps)
	c.markLeaving(ps)
	c.commitMu.Unlock()
	c.log.Info("partitions revoked", "topic", c.cfg.Topics.Events, "partitions", ps)
	// The handler may do I/O (the daemon snapshots the partitions' state), so it runs
	// outside commitMu: commits of the partitions that stay are not held up by it, and
	// the leaving ones are no longer committed. It runs before they are dropped, so that
	// it can still ask Delivered.
	c.h.Revoked(ps)
	if c.cfg.Tap != nil {
		c.cfg.Tap.Revoked(ps)
	}
	c.dropParts(ps)
}

func (c *EventConsumer) onLost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	ps := m[c.cfg.Topics.Events]
	if len(ps) == 0 {
		return
	}
	c.inflight.wait() // no HandleBatch runs with Revoked
	slices.Sort(ps)
	c.log.Warn("partitions lost (group session expired); their uncommitted events will be handled again", "partitions", ps)
	c.commitMu.Lock()
	c.markLeaving(ps)
	c.commitMu.Unlock()
	c.h.Revoked(ps)
	if c.cfg.Tap != nil {
		c.cfg.Tap.Revoked(ps)
	}
	c.dropParts(ps)
}

// markLeaving excludes partitions ps from periodic commits. c.commitMu must be held, so
// that no commit that still includes them is under way.
func (c *EventConsumer) markLeaving(ps []int32) {
	c.partsMu.RLock()
	defer c.partsMu.RUnlock()
	for _, p := range ps {
		if s := c.parts[p]; s != nil {
			s.mu.Lock()
			s.leaving = true
			s.mu.Unlock()
		}
	}
}

func (c *EventConsumer) dropParts(ps []int32) {
	c.partsMu.Lock()
	defer c.partsMu.Unlock()
	for _, p := range ps {
		delete(c.parts, p)
		c.cfg.Metrics.dropLag(p)
	}
}

// commitLocked commits the committable offsets of partitions ps (all owned partitions
// if ps is nil). c.commitMu must be held.
func (c *EventConsumer) commitLocked(ctx context.Context, ps []int32) {
	owned := map[int32]*partState{}
	c.partsMu.RLock()
	for p, s := range c.parts {
		if ps == nil && s.isLeaving() || ps != nil && !slices.Contains(ps, p) {
			continue
		}
		owned[p] = s
	}
	c.partsMu.RUnlock()
	offs := map[int32]kgo.EpochOffset{}
	limiter, _ := c.h.(CommitLimiter)
	for p, s := range owned {
		off, ok := s.committable()
		if ok && limiter != nil {
			if limit, limited := limiter.CommitLimit(p); limited {
				off.Offset = min(off.Offset, limit)
				ok = off.Offset >= 0 && off.Offset > s.committed
			}
		}
		if ok {
			offs[p] = off
		}
	}
	if len(offs) == 0 {
		return
	}
	var cerr error
	c.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{c.cfg.Topics.Events: offs},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil && cerr == nil {
						cerr = fmt.Errorf("partition %d: %w", p.Partition, err)
					}
				}
			}
		})
	if cerr != nil {
		c.log.Warn("committing offsets failed; will retry", "err", cerr)
		return
	}
	for p, off := range offs {
		s := owned[p]
		s.mu.Lock()
		s.committed = off.Offset
		s.mu.Unlock()
	}
}

// Commit commits what has been handled (and delivered) so far.
func (c *EventConsumer) Commit(ctx context.Context) {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.commitLocked(ctx, nil)
}

// Run consumes until ctx is done, then finishes the batch in hand, waits (up to
// ShutdownTimeout) for records produced on behalf of handled events, commits, leaves the
// group and closes the client. It returns nil after a clean shutdown, and an error when
// the brokers refuse the consumer for good (authentication, authorization): then it
// stops without waiting for ctx.
func (c *EventConsumer) Run(ctx context.Context) error {
	defer c.cl.CloseAllowingRebalance()
	commitCtx, stopCommits := context.WithCancel(context.Background())
	var commits sync.WaitGroup
	commits.Go(func() {
		t := time.NewTicker(c.cfg.CommitInterval)
		defer t.Stop()
		for {
			select {
			case <-commitCtx.Done():
				return
			case <-t.C:
				c.Commit(commitCtx)
			}
		}
	})

	workers := runtime.GOMAXPROCS(0)
	var working sync.WaitGroup
	for range workers {
		working.Go(func() {
			for b := c.runq.next(); b != nil; b = c.runq.next() {
				c.handleOne(b)
				c.runq.handled(b)
				c.inflight.done(len(b.recs))
			}
		})
	}
	defer func() {
		c.runq.close()
		working.Wait()
	}()

	var (
		batches []*Batch
		fatal   error
	)
	pacer, _ := c.cfg.Tap.(TapPacer)
	for ctx.Err() == nil && fatal == nil {
		// A fetch is taken whole, because franz-go requests a broker's next fetch only
		// once the last of its buffered one is taken: polling a fetch in parts left the
		// fetch pipeline (one goroutine per broker: request, wait, decompress), which
		// sets a plain consumer's pace, idle while the workers handled the first parts.
		// Taken whole, the next fetch is requested and decompressed while the workers
		// are busy, and what they hold is bounded here instead.
		if c.inflight.waitRoom(c.cfg.MaxQueuedRecords, workers) && c.cfg.OnQueueFull != nil {
			c.cfg.OnQueueFull()
		}
		if pacer != nil {
			pacer.WaitRoom(ctx)
		}
		fs := c.cl.PollRecords(ctx, 0)
		if fs.IsClientClosed() {
			break
		}
		fs.EachError(func(t string, p int32, err error) {
			switch {
			case errors.Is(err, context.Canceled):
			case isFatal(err):
				fatal = fmt.Errorf("ingest: consuming %s (partition %d): %w", t, p, err)
			default:
				c.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		batches = batches[:0]
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			if len(fp.Records) == 0 || fp.Topic != c.cfg.Topics.Events {
				return
			}
			b := &Batch{Partition: fp.Partition, HighWatermark: fp.HighWatermark, recs: fp.Records, c: c, ps: c.part(fp.Partition)}
			b.ps.mu.Lock()
			from := b.ps.fetched
			b.ps.fetched = b.NextOffset()
			b.ps.mu.Unlock()
			if ls := fp.LogStartOffset; from >= 0 && ls > from {
				c.deletedUnread(fp.Partition, from, min(fp.Records[0].Offset, ls))
			}
			if c.cfg.Tap != nil {
				if ls := fp.LogStartOffset; ls >= 0 && (from < 0 && fp.Records[0].Offset == ls || from > 0 && from <= ls) {
					from = FromLogStart
				}
				b.tap = c.cfg.Tap.Fetched(fp.Partition, from, fp.Records)
			}
			batches = append(batches, b)
		})
		c.dispatch(batches)
		c.cl.AllowRebalance()
	}
	c.inflight.wait() // what was polled is handled before the last commit

	stopCommits()
	commits.Wait()
	ctx2, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	if err := c.cl.Flush(ctx2); err != nil {
		c.log.Error("records produced for handled events were not all delivered at shutdown", "err", err)
	}
	c.Commit(ctx2)
	return fatal
}

// deletedUnread reports that the broker deleted partition p's events from offset
// from (where this consumer resumed or went on) up to to before they were read: the
// log's start had passed them (retention), and the client went on from there. Offsets
// skipped for other reasons (transaction markers, compaction) leave the log's start
// where it was, so they are not counted.
func (c *EventConsumer) deletedUnread(p int32, from, to int64) {
	c.cfg.Metrics.Unread.WithLabelValues(strconv.Itoa(int(p))).Add(float64(to - from))
	c.log.Warn("events were deleted by the broker before they were read: no rule counted them (the consumer fell behind the topic's retention)",
		"topic", c.cfg.Topics.Events, "partition", p, "from", from, "to", to-1, "events", to-from)
}

// isFatal tells the fetch errors that retrying cannot cure: credentials or permissions
// the brokers refuse. Run stops on them instead of logging them forever.
func isFatal(err error) bool {
	for _, e := range []error{kerr.SaslAuthenticationFailed, kerr.TopicAuthorizationFailed,
		kerr.GroupAuthorizationFailed, kerr.ClusterAuthorizationFailed, kerr.UnsupportedSaslMechanism} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// dispatch queues each partition's batch behind the partition's earlier ones and
// returns without waiting for any, so that the next poll is fetched and handed out
// while this one is handled. Waiting for the whole poll made a poll of one partition
// (a fetch of one large record batch) run on one core while the other idled, and
// waiting for a partition's previous batch before queueing the rest of the poll held
// the next fetch back as much. Rebalance callbacks and the shutdown wait for the
// batches in flight instead (inflight), so that HandleBatch still never runs
// concurrently with Assigned or Revoked, nor after the last commit. Workers live as
// long as Run, so their stacks stay grown: a goroutine per batch would copy its stack
// up on every batch.
func (c *EventConsumer) dispatch(batches []*Batch) {
	for _, b := range batches {
		c.inflight.add(len(b.recs))
		c.runq.push(b)
	}
}

func (c *EventConsumer) handleOne(b *Batch) {
	c.h.HandleBatch(b)
	if b.tap != nil {
		b.tap.Handled()
	}
	last := b.recs[len(b.recs)-1]
	b.ps.mu.Lock()
	b.ps.handled = kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}
	b.ps.mu.Unlock()
	c.cfg.Metrics.lag(b.Partition).Set(float64(max(0, b.HighWatermark-(last.Offset+1))))
}
