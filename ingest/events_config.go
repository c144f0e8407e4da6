package ingest

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/hindsightdev/hindsight/internal/fetcherr"
)

// EventsConfig configures an EventConsumer.
type EventsConfig struct {
	Kafka  KafkaConfig
	Topics Topics
	// Group is the consumer group id. Default "hindsight-live".
	Group string
	// StartAt is where a partition without a committed offset (or a Positioner's
	// resume point) starts: "earliest" (default) or "latest". With a Positioner
	// handler, a position the log no longer holds goes on from the log's start.
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
	// MaxQueuedBytes bounds the same records by their keys', values' and headers' bytes (as
	// decompressed; each header counts its kgo.RecordHeader too, which an empty one
	// is in memory), as MaxQueuedRecords bounds their number: events of a megabyte
	// would otherwise queue gigabytes before the records bound binds. A single batch
	// larger than it is still taken while a worker is free. Default
	// DefaultMaxQueuedBytes.
	MaxQueuedBytes int64
	// MaxPendingProduceBytes bounds the records produced for events (alerts, dead
	// letters) that the brokers have not yet acknowledged, by their keys', values'
	// and headers' bytes: past it the consumer takes no further fetch until
	// acknowledgements bring it below (OnQueueFull with QueueLimitPendingProduce).
	// Without it, a topic not taking writes (a retriable error) had every dead letter
	// and alert of the events read meanwhile wait in the client, each holding its
	// event's bytes. A dead letter held while its topic refuses it for good
	// (Rerouter.hold) counts heldCost, 8 KiB, more: its goroutine. What one poll's
	// batches produce may pass it. Default DefaultMaxPendingProduceBytes.
	MaxPendingProduceBytes int64
	// Workers is the number of goroutines handling batches, each one partition's at a
	// time. Default runtime.GOMAXPROCS(0) when EnsureDefaults runs: a worker per core
	// the process may use.
	Workers int
	// FetchMaxBytes bounds the bytes (compressed, as stored) of one fetch from a
	// broker; a broker still sends a record batch larger than this whole. Default
	// DefaultFetchMaxBytes. Smaller fetches hold less memory at once, decompressed;
	// too small a fetch holds one partition's batch, and a poll of one partition
	// keeps one worker busy however many there are.
	FetchMaxBytes int32
	// MaxDecompressedBatchBytes bounds one record batch of the events topic once
	// decompressed (franz-go's MaxDecompressBatchBytes, whose own default is 1 GiB):
	// FetchMaxBytes bounds batches as stored, and a batch of repeated bytes
	// decompresses a thousandfold. A batch past it is not read: its partition stops
	// here, at the batch, and OnBatchTooLarge is called, until the bound is raised and
	// the consumer started again; nothing is skipped, nor counted twice. Default
	// DefaultMaxDecompressedBatchBytes.
	MaxDecompressedBatchBytes int
	// OnBatchTooLarge, when set, is called when a partition stopped at a batch past
	// MaxDecompressedBatchBytes, with the batch's first offset. Default nil.
	OnBatchTooLarge func(partition int32, offset int64)
	// DeadLetterMaxBytes bounds a dead letter's key, value and headers together. A
	// larger one is cut to fit: its value first, then its key, then the original
	// record's headers, and it carries HeaderOriginalBytes, the size before. A dead
	// letter above what the client or the broker takes would be refused, and the event
	// it stands for lost. Default DefaultDeadLetterMaxBytes.
	DeadLetterMaxBytes int
	// OnDeadLetterCut, when set, is called for each dead letter cut to
	// DeadLetterMaxBytes. Default nil.
	OnDeadLetterCut func()
	// ShutdownTimeout bounds the final flush of produced records, and, apart, the offset
	// commit after it (at shutdown and on revocation). Default 10s.
	ShutdownTimeout time.Duration
	// SessionTimeout is how long the group waits for a silent member (a crashed process)
	// before giving its partitions to the others. Default 0: franz-go's 45s. The broker
	// bounds it (group.min.session.timeout.ms, 6s on Kafka).
	SessionTimeout time.Duration
	// InstanceID, when set, makes this member static (KIP-345): a process restarted with
	// the same id takes its partitions back at once, without a rebalance and without
	// waiting for SessionTimeout. Default "": a dynamic member.
	InstanceID string
	// LagInterval is how often every owned partition's lag
	// (hindsight_consumer_lag_records) is measured against the log's end offsets, on
	// top of each batch handled, so that a partition whose fetches fail shows its lag
	// growing. Default DefaultLagInterval.
	LagInterval time.Duration
	// ProduceLinger is how long produced records (alerts, dead letters) may wait to be
	// batched. Default 0: sent at once (batching still happens while a request is in flight).
	// At most MaxProduceLinger.
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
	// (once the wait is over) because MaxQueuedRecords events, or MaxQueuedBytes, were
	// queued and every worker had a batch, or MaxPendingProduceBytes were produced and
	// not acknowledged, with the limit's name (QueueLimitRecords, QueueLimitBytes or
	// QueueLimitPendingProduce): the evaluation, or the brokers taking its records, not
	// Kafka's reads, set the pace (as over a backlog). Default nil.
	OnQueueFull func(limit string)
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
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if c.MaxPendingProduceBytes <= 0 {
		c.MaxPendingProduceBytes = DefaultMaxPendingProduceBytes
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.MaxDecompressedBatchBytes <= 0 {
		c.MaxDecompressedBatchBytes = DefaultMaxDecompressedBatchBytes
	}
	if c.FetchMaxBytes <= 0 {
		c.FetchMaxBytes = DefaultFetchMaxBytes
	}
	if c.DeadLetterMaxBytes <= 0 {
		c.DeadLetterMaxBytes = DefaultDeadLetterMaxBytes
	}
	if c.LagInterval <= 0 {
		c.LagInterval = DefaultLagInterval
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
	if c.MaxDecompressedBatchBytes < MaxRecordBytes {
		return fmt.Errorf("max decompressed batch bytes %d: at least %d, a record's most, or no batch of one such record could be read", c.MaxDecompressedBatchBytes, MaxRecordBytes)
	}
	if c.DeadLetterMaxBytes > MaxRecordBytes {
		return fmt.Errorf("dead letter max bytes %d: at most %d, what the client takes in one record", c.DeadLetterMaxBytes, MaxRecordBytes)
	}
	return nil
}

// DefaultMaxQueuedRecords is EventsConfig.MaxQueuedRecords' default: a few
// milliseconds of the workers' work, so that a fetch waiting in the client is taken
// before they run dry, and little more is held. When the workers are faster than the
// fetches, nothing stays queued and the bound never binds.
const DefaultMaxQueuedRecords = 3000

// DefaultMaxQueuedBytes is EventsConfig.MaxQueuedBytes' default: far above what
// DefaultMaxQueuedRecords events of a few kilobytes hold, so that it binds only for
// large events (64 of a megabyte).
const DefaultMaxQueuedBytes = 64 << 20

// DefaultMaxPendingProduceBytes is EventsConfig.MaxPendingProduceBytes' default: the
// brokers acknowledge in milliseconds what a daemon produces, alerts and dead letters
// of some kilobytes, so it binds only when a topic stops taking writes.
const DefaultMaxPendingProduceBytes = 64 << 20

// DefaultMaxDecompressedBatchBytes is EventsConfig.MaxDecompressedBatchBytes'
// default, the archiver's too (fetcherr.DefaultMaxDecompressedBatchBytes).
const DefaultMaxDecompressedBatchBytes = fetcherr.DefaultMaxDecompressedBatchBytes

// LimitDecompressedBatch names MaxDecompressedBatchBytes, as flags (with '-' for '_')
// and metrics spell it.
const LimitDecompressedBatch = fetcherr.LimitDecompressedBatch

// The names of the queue's limits, as OnQueueFull, flags (with '-' for '_') and
// metrics spell them.
const (
	QueueLimitRecords        = "max_queued_records"
	QueueLimitBytes          = "max_queued_bytes"
	QueueLimitPendingProduce = "max_pending_produce_bytes"
)

// MaxRecordBytes is the most RecordBytes a record produced here may have: the
// client's bound on a record batch (franz-go's ProducerBatchMaxBytes, 1,000,012 bytes),
// less the 61 bytes of the batch's own header, for a batch of that one record. A bound
// on produced records above it (DeadLetterMaxBytes, live's --alert-max-bytes) would let
// through records the client refuses.
const MaxRecordBytes = 1_000_012 - 61

// DefaultDeadLetterMaxBytes is EventsConfig.DeadLetterMaxBytes' default: 960 KiB,
// below both the client's bound on a record batch (1,000,012 bytes, franz-go's
// default) and Kafka's default bound on a message (1 MiB), with room for the batch's
// own bytes. An events topic that takes larger records has its larger malformed ones
// cut.
const DefaultDeadLetterMaxBytes = 960 << 10

// DefaultFetchMaxBytes is EventsConfig.FetchMaxBytes' default: about 25,000 events of
// 600 bytes as a franz-go producer compresses them, record batches of several
// partitions. The README's limits table has the figures of `hindsight bench
// throughput --fetch-max-bytes` against 1 and 2 MiB.
const DefaultFetchMaxBytes = 4 << 20

// MaxProduceLinger is the longest ProduceLinger the Kafka client takes: a longer one
// fails only once the client is made, after the start's work, so commands check it
// before they start.
const MaxProduceLinger = time.Minute
