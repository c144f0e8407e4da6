package lakehouse

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/fetcherr"
	"github.com/hindsightdev/hindsight/internal/limitmetric"
)

// DefaultArchiverGroup is ArchiverConfig.Group's default.
const DefaultArchiverGroup = "hindsight-archiver"

// Defaults of ArchiverConfig.RollBytes and MaxBufferedBytes.
const (
	DefaultRollBytes        = 64 << 20
	DefaultMaxBufferedBytes = 512 << 20
)

// DefaultOrphanGrace is ArchiverConfig.OrphanGrace's default, and how long the
// daemon's state store lets a snapshot's temporary go unwritten before it takes it for
// a killed writer's (RemoveStaleTemps).
const DefaultOrphanGrace = time.Hour

// ArchiverConfig configures RunArchiver. Zero fields take the defaults EnsureDefaults
// documents next to each field.
type ArchiverConfig struct {
	// Brokers are the Kafka seed brokers. Default ["127.0.0.1:9092"] (the embedded broker).
	Brokers []string
	// KafkaOpts are extra franz-go options (SASL, TLS, client id, timeouts...), applied
	// after the archiver's own, so they can override them.
	KafkaOpts []kgo.Opt
	// MaxDecompressedBatchBytes bounds one record batch of the topic, once
	// decompressed, in the archiver's reads (kgo.MaxDecompressBatchBytes, whose own
	// default is 1 GiB): a batch of repeated bytes decompresses a thousandfold. A batch
	// past it is not read: its partition stops there (nothing after it is archived or
	// skipped; the lag grows), an error is logged with the offsets and, without a Feed,
	// counted in hindsight_limit_reached_total{name="max_decompressed_batch_bytes"} (with
	// one, the consumer feeding it stops at the same batch and counts it), until the
	// bound is raised and the archiver restarted. Default
	// DefaultMaxDecompressedBatchBytes, the live consumer's (`hindsight archive` and
	// `hindsight live --max-decompressed-batch-bytes`).
	MaxDecompressedBatchBytes int
	// Topic is the events topic. Default "events".
	Topic string
	// Group is the consumer group; archivers in one group split the partitions.
	// Default DefaultArchiverGroup. Unused with a Feed.
	Group string
	// Feed, when set, hands the archiver the records a consumer in this process fetched
	// (see Feed): the archiver joins no group, archives the partitions that consumer
	// owns, and reads from Kafka itself only what the feed leaves out. Default nil: the
	// archiver consumes the topic in Group.
	Feed *Feed
	// SessionTimeout is how long the group waits for a silent archiver (a process
	// killed with -9, a host gone) before handing its partitions to the others, so it
	// bounds how long archiving stalls after such a crash. Default 0: franz-go's 45s.
	// The broker bounds it (group.min.session.timeout.ms, 6s on Kafka). `hindsight live`
	// passes its --session-timeout.
	SessionTimeout time.Duration
	// InstanceID, when set, makes the archiver a static member (KIP-345): restarted with
	// the same id it takes its partitions back at once, without waiting for
	// SessionTimeout. It is per group, so the live daemon's id can be reused here.
	// Default "": a dynamic member.
	InstanceID string

	// BucketURL is where the lake lives (see OpenBucket). Default DefaultLakeURL.
	BucketURL string
	// Bucket, if set, is used instead of BucketURL; RunArchiver does not close it.
	Bucket Bucket
	// StorageTimeout bounds each request to the BucketURL's object storage that makes
	// no progress (StorageConfig.Timeout): past it the request is abandoned, counted in
	// hindsight_limit_reached_total{name="storage_timeout_seconds"}, logged, and
	// retried. Default DefaultStorageTimeout; negative: none. Not applied to Bucket,
	// which its opener bounds.
	StorageTimeout time.Duration

	// RollBytes closes a file once its raw JSON reaches this size. Default 64 MiB; at most 1 GiB.
	RollBytes int64
	// RollAge closes a file this long after its first record arrived. Default 1m.
	// It bounds how far the archive's watermark trails Kafka when traffic is light.
	RollAge time.Duration
	// MaxHourSplits bounds the files a partition closes, within one RollAge, because
	// an event of a later event-time hour came (files are laid out by hour): past it,
	// such an event joins the open file, which then spans hours (its entry's MinTime
	// and MaxTime say which), each counted in
	// hindsight_limit_reached_total{name="archive_max_hour_splits"}. The hour is the
	// producer's timestamp: one stepping each record an hour on made a file per record,
	// which compaction, by hour, never merged, until the manifest outgrew what is read
	// back. Default 8 (an hour's rollover is one); negative: no bound.
	MaxHourSplits int
	// MaxBufferedBytes bounds the raw JSON held in memory across partitions, and 52
	// bytes a row besides (offsets, times, customer, payload place), and an open
	// file's typed values (9 bytes per typed path and row, and the typed strings); past
	// it the largest open file is closed early, and while the files closed wait for storage
	// the archiver takes no further records, each such pause counted in
	// hindsight_limit_reached_total{name="archive_max_buffered_bytes"}. Default 512 MiB.
	MaxBufferedBytes int64
	// RowGroupRows is the Parquet row group length. Default 65536.
	RowGroupRows int
	// Compression is the files' Parquet codec: CompressionZstd or CompressionSnappy.
	// Default CompressionZstd. Snappy trades storage for CPU: on the benchmark's events
	// it compressed 1 MiB pages 3.3× as fast as zstd level 1, to 4.6× smaller against
	// 6.6× (whole files of 100,000 events 4.2× against 5.9×: 40% larger), and `bench
	// throughput` archived with 8–12% less CPU per event (2026-12-03).
	// A lake may hold files of both; readers take each file's own.
	Compression string
	// CompressionLevel is the zstd level. Default 1: the fastest, already over 5x on
	// audit-log JSON; higher levels buy a few percent for twice the CPU.
	CompressionLevel int
	// Columns are the JSONPaths typed in files the archiver opens from now on (see
	// TypedColumn); the caller may change them while the archiver runs. Default nil:
	// no typed columns, only the payload.
	Columns *ColumnSet
	// FlushConcurrency is how many files are encoded and uploaded at once.
	// Default GOMAXPROCS.
	FlushConcurrency int
	// MemoryLimit is the process's memory budget in bytes (package memlimit): the Go
	// runtime's memory and the archive's buffers off the Go heap, for an archiver that
	// has its process to itself (`hindsight archive --memory-limit`). Near it the
	// collector works harder and buffers kept for reuse are given back; reaching it
	// shows in hindsight_limit_reached_total{name="memory_limit_bytes"}. Soft: a process
	// that needs more runs on. Default 0: none (the live daemon keeps its own for the
	// whole process and leaves its archiver's at 0).
	MemoryLimit int64
	// SpareCore, when set, lets one more file than FlushConcurrency be encoded while
	// it reports true, asked before each file's encoding starts: the live daemon, whose
	// archiver leaves a core to its evaluator, reports that the evaluator is idle, so
	// that a backlog of the archive takes every core while no event waits. Default nil:
	// FlushConcurrency only.
	SpareCore func() bool

	// CompactInterval is how often small files are merged, retention applied and garbage
	// collected. Default 10m; negative disables maintenance, and so retention: a
	// Retention with it is ErrRetentionNeverApplied.
	CompactInterval time.Duration
	// CompactSmallBytes: files smaller than this are merged with their neighbours.
	// Default 8 MiB.
	CompactSmallBytes int64
	// Retention drops files whose newest event is older than this. Default 0: keep all.
	Retention time.Duration
	// DeleteDelay is how long a replaced or expired file stays in the bucket after it
	// left the manifest, for readers holding an older snapshot. Default 10m.
	DeleteDelay time.Duration
	// OrphanGrace: objects under data/ that no manifest lists and that are older than
	// this are debris of crashed writers and are deleted. Default 1h. A manifest commit
	// attempt is abandoned, its files uploaded again and retried, once they are half
	// this old (orphan_guard.go).
	OrphanGrace time.Duration
	// KeepManifests is how many manifest versions are kept. Default 10.
	KeepManifests int

	// MinBackoff and MaxBackoff bound the waits between retries of failed storage
	// operations. Defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// LagInterval is how often per-partition lag is measured against Kafka (the
	// hindsight_archive_lag_* gauges). Default 10s.
	LagInterval time.Duration
	// MaxLagSamples bounds the Kafka end-offset samples kept per partition to measure
	// lag in seconds (one per LagInterval in which the end moved while the lake was
	// behind). Past it the oldest samples but the first are merged, so the lag in
	// seconds stays a lower bound but loses resolution. Default 4096 (11 hours at 10s).
	MaxLagSamples int
	// ShutdownTimeout bounds the final flush when ctx ends. Default 30s.
	ShutdownTimeout time.Duration

	// Registerer receives the archiver's metrics (hindsight_lake_*). Default none.
	Registerer prometheus.Registerer
	// Limits is where the archiver's limits show (ShowLimits) and count their reaches.
	// Default nil: its own, registered on Registerer; a caller that registers the
	// families itself (the live daemon, for all its limits) passes them here.
	Limits *limitmetric.Limits
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Allocator is used for Arrow buffers. Default: a pool that recycles large buffers.
	Allocator memory.Allocator

	// faultHook, set by tests, is called at named points; an error aborts the
	// archiver on the spot, as a crash would (nothing flushed, nothing cleaned up).
	faultHook func(point string) error
	// now is the clock of retention; tests move it.
	now func() time.Time
	// encodeHook, set by tests, runs at the start of each file's encoding.
	encodeHook func()
}

// Names of the archiver's limits in hindsight_limit and hindsight_limit_reached_total.
const (
	LimitMaxBufferedBytes = "archive_max_buffered_bytes"
	// LimitRetention is Retention in seconds (0: keep everything). The files it drops
	// count in hindsight_lake_files_expired_total.
	LimitRetention = "archive_retention_seconds"
	LimitMemory    = "memory_limit_bytes"
	// LimitColumns is the most typed column paths (Columns' Max: --lake-max-columns).
	LimitColumns = "lake_max_columns"
	// LimitHourSplits is MaxHourSplits.
	LimitHourSplits = "archive_max_hour_splits"
	// LimitDecompressedBatch is MaxDecompressedBatchBytes, named as the live
	// consumer's bound, which it is in `hindsight live`.
	LimitDecompressedBatch = fetcherr.LimitDecompressedBatch
)

// DefaultMaxDecompressedBatchBytes is ArchiverConfig.MaxDecompressedBatchBytes'
// default: the live consumer's (fetcherr.DefaultMaxDecompressedBatchBytes).
const DefaultMaxDecompressedBatchBytes = fetcherr.DefaultMaxDecompressedBatchBytes

// DefaultMaxHourSplits is ArchiverConfig.MaxHourSplits' default.
const DefaultMaxHourSplits = 8

// ShowLimits sets the values of c's limits in l (after EnsureDefaults). The archiver
// shows them when it starts; a caller that serves l sooner shows them itself first.
func (c *ArchiverConfig) ShowLimits(l *limitmetric.Limits) {
	l.ShowCounted(LimitMaxBufferedBytes, float64(c.MaxBufferedBytes))
	l.ShowCounted(LimitHourSplits, float64(c.MaxHourSplits))
	l.ShowCounted(LimitDecompressedBatch, float64(c.MaxDecompressedBatchBytes))
	l.Show(LimitRetention, c.Retention.Seconds())
	if c.MemoryLimit > 0 {
		l.ShowCounted(LimitMemory, float64(c.MemoryLimit))
	}
	// Its archiver's files and, counting its reaches, compaction's merged files.
	l.ShowCounted(LimitColumns, float64(max(c.maxColumns(), 0)))
	if c.Bucket == nil {
		c.storage(l).ShowLimit()
	}
}

// storage is how the archiver reaches the bucket it opens (BucketURL), counting into l.
func (c *ArchiverConfig) storage(l *limitmetric.Limits) StorageConfig {
	return StorageConfig{Timeout: c.StorageTimeout, Limits: l, Logger: c.Logger}
}

// DefaultMaxColumns is the default of --lake-max-columns: the most JSONPaths typed in
// a file (ColumnSet's Max; MaintenanceConfig.MaxColumns).
const DefaultMaxColumns = 32

// maxColumns is the most typed paths of a file written under c: Columns' Max, and
// DefaultMaxColumns without Columns (compaction may merge files that other archivers
// typed).
func (c *ArchiverConfig) maxColumns() int {
	if c.Columns != nil {
		return c.Columns.Max()
	}
	return DefaultMaxColumns
}

// The codecs of ArchiverConfig.Compression.
const (
	CompressionZstd   = "zstd"
	CompressionSnappy = "snappy"
)

// CheckCompression says why codec is not one of ArchiverConfig.Compression's ("" is
// the default's, zstd).
func CheckCompression(codec string) error {
	if codec != "" && codec != CompressionZstd && codec != CompressionSnappy {
		return fmt.Errorf("compression %q: use %s or %s", codec, CompressionZstd, CompressionSnappy)
	}
	return nil
}

// DefaultLakeURL is where the lake is when no URL is given: a directory in the working
// directory, so that every command run from there finds it.
const DefaultLakeURL = "file://./hindsight-data/lake"

// EnsureDefaults fills zero fields with their defaults.
func (c *ArchiverConfig) EnsureDefaults() {
	if len(c.Brokers) == 0 {
		c.Brokers = []string{"127.0.0.1:9092"}
	}
	if c.Topic == "" {
		c.Topic = "events"
	}
	if c.Group == "" {
		c.Group = DefaultArchiverGroup
	}
	if c.BucketURL == "" && c.Bucket == nil {
		c.BucketURL = DefaultLakeURL
	}
	if c.StorageTimeout == 0 {
		c.StorageTimeout = DefaultStorageTimeout
	}
	if c.RollBytes == 0 {
		c.RollBytes = DefaultRollBytes
	}
	if c.MaxDecompressedBatchBytes <= 0 {
		c.MaxDecompressedBatchBytes = DefaultMaxDecompressedBatchBytes
	}
	if c.RollAge == 0 {
		c.RollAge = time.Minute
	}
	if c.MaxHourSplits == 0 {
		c.MaxHourSplits = DefaultMaxHourSplits
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.RowGroupRows == 0 {
		c.RowGroupRows = 65536
	}
	if c.Compression == "" {
		c.Compression = CompressionZstd
	}
	if c.CompressionLevel == 0 {
		c.CompressionLevel = 1
	}
	if c.FlushConcurrency == 0 {
		c.FlushConcurrency = runtime.GOMAXPROCS(0)
	}
	if c.CompactInterval == 0 {
		c.CompactInterval = 10 * time.Minute
	}
	if c.CompactSmallBytes == 0 {
		c.CompactSmallBytes = 8 << 20
	}
	if c.DeleteDelay == 0 {
		c.DeleteDelay = 10 * time.Minute
	}
	if c.OrphanGrace == 0 {
		c.OrphanGrace = DefaultOrphanGrace
	}
	if c.KeepManifests == 0 {
		c.KeepManifests = 10
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.LagInterval == 0 {
		c.LagInterval = 10 * time.Second
	}
	if c.MaxLagSamples == 0 {
		c.MaxLagSamples = 4096
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Allocator == nil {
		c.Allocator = defaultAllocator
	}
	if c.now == nil {
		c.now = time.Now
	}
}

// MinSessionTimeout and MaxSessionTimeout bound the consumer group session timeout the
// Kafka client takes (the longest is an int32 of milliseconds on the wire); one outside
// fails only once the client is made, after the start's work.
const (
	MinSessionTimeout = 100 * time.Millisecond
	MaxSessionTimeout = time.Duration(math.MaxInt32) * time.Millisecond
)

// ErrRetentionNeverApplied is Validate's error for a Retention with a negative
// CompactInterval: retention is applied by the maintenance pass alone, which that
// interval never runs, so every file would be kept while the Retention (and the
// hindsight_limit showing it) said otherwise. Callers name their own flags for the two.
var ErrRetentionNeverApplied = errors.New("lakehouse: the retention would never be applied, every file kept: only the maintenance pass applies it, and a negative interval runs none")

// Validate reports the first invalid field, named as in Go.
func (c *ArchiverConfig) Validate() error { return c.ValidateNamed(nil) }

// ValidateNamed is Validate with each field named by name(field) (the Go name when name
// is nil or answers ""): a command names the flags that set them, which differ between
// hindsight archive and what else fills an ArchiverConfig.
func (c *ArchiverConfig) ValidateNamed(name func(field string) string) error {
	n := func(field string) string { return fieldName(name, field) }
	switch {
	case len(c.Brokers) == 0:
		return errors.New("lakehouse: no brokers")
	case c.Topic == "":
		return errors.New("lakehouse: no topic")
	case c.Group == "":
		return errors.New("lakehouse: no consumer group")
	case c.Bucket == nil && c.BucketURL == "":
		return errors.New("lakehouse: no bucket")
	case c.RollBytes < 1 || c.RollBytes > 1<<30:
		return fmt.Errorf("lakehouse: %s %d out of range [1, 1GiB]", n("RollBytes"), c.RollBytes)
	case c.RollAge <= 0:
		return fmt.Errorf("lakehouse: %s %v must be positive", n("RollAge"), c.RollAge)
	case c.MaxBufferedBytes < c.RollBytes:
		return fmt.Errorf("lakehouse: %s %d below %s %d: an archiver must hold a whole file", n("MaxBufferedBytes"), c.MaxBufferedBytes, n("RollBytes"), c.RollBytes)
	case c.RowGroupRows < 1:
		return fmt.Errorf("lakehouse: %s %d must be positive", n("RowGroupRows"), c.RowGroupRows)
	case CheckCompression(c.Compression) != nil:
		return fmt.Errorf("lakehouse: %s: %w", n("Compression"), CheckCompression(c.Compression))
	case c.CompressionLevel < 1 || c.CompressionLevel > 22:
		return fmt.Errorf("lakehouse: %s %d out of range [1, 22] (zstd levels)", n("CompressionLevel"), c.CompressionLevel)
	case c.FlushConcurrency < 1:
		return fmt.Errorf("lakehouse: %s %d must be positive", n("FlushConcurrency"), c.FlushConcurrency)
	case c.MemoryLimit < 0:
		return fmt.Errorf("lakehouse: %s %d: use a number of bytes, or 0 for none", n("MemoryLimit"), c.MemoryLimit)
	case c.Retention < 0:
		return fmt.Errorf("lakehouse: %s %v must not be negative", n("Retention"), c.Retention)
	case c.Retention > 0 && c.CompactInterval < 0:
		return fmt.Errorf("%w: %s %v, %s %v", ErrRetentionNeverApplied, n("Retention"), c.Retention, n("CompactInterval"), c.CompactInterval)
	case c.DeleteDelay < 0:
		return fmt.Errorf("lakehouse: %s %v must not be negative", n("DeleteDelay"), c.DeleteDelay)
	case c.OrphanGrace <= 0:
		return fmt.Errorf("lakehouse: %s %v must be positive", n("OrphanGrace"), c.OrphanGrace)
	case c.KeepManifests < 2:
		return fmt.Errorf("lakehouse: %s %d must be at least 2", n("KeepManifests"), c.KeepManifests)
	case c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("lakehouse: backoff [%v, %v] invalid", c.MinBackoff, c.MaxBackoff)
	case c.LagInterval <= 0 || c.ShutdownTimeout <= 0:
		return errors.New("lakehouse: LagInterval and ShutdownTimeout must be positive")
	case c.MaxLagSamples < 2:
		return fmt.Errorf("lakehouse: MaxLagSamples %d must be at least 2", c.MaxLagSamples)
	case c.SessionTimeout < 0:
		return fmt.Errorf("lakehouse: %s %v must not be negative", n("SessionTimeout"), c.SessionTimeout)
	case c.SessionTimeout > 0 && c.SessionTimeout < MinSessionTimeout:
		return fmt.Errorf("lakehouse: %s %v is below the Kafka client's least, %v", n("SessionTimeout"), c.SessionTimeout, MinSessionTimeout)
	case c.SessionTimeout > MaxSessionTimeout:
		return fmt.Errorf("lakehouse: %s %v is above the Kafka client's most, %v", n("SessionTimeout"), c.SessionTimeout, MaxSessionTimeout)
	}
	return nil
}

// fieldName is field as name names it, its Go name when name is nil or answers "".
func fieldName(name func(field string) string, field string) string {
	if name != nil {
		if s := name(field); s != "" {
			return s
		}
	}
	return field
}

// encodeOptions are the Parquet knobs of the files written under c (defaults filled).
func (c *ArchiverConfig) encodeOptions() encodeOptions {
	codec := compress.Codecs.Zstd
	if c.Compression == CompressionSnappy {
		codec = compress.Codecs.Snappy
	}
	return encodeOptions{mem: c.Allocator, rowGroupRows: c.RowGroupRows, codec: codec, compressionLevel: c.CompressionLevel}
}
