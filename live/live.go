// Package live is Hindsight's live evaluator: the `hindsight live` daemon.
//
// Contract:
//   - Rules come from the controls topic, read in full at start (events wait until every
//     existing control was applied) and followed afterwards, folded by the controls
//     package (the same fold `rules list` and backfill use). A new version of a rule
//     starts its counts from zero. Invalid controls are reported on the control-status
//     topic and in /v1/rules; nothing else stops. Every control read gets a status record, also when
//     the topic is replayed at start; consumers match statuses by (key, offset).
//   - Each event (key = customer) is matched once against the global rules and that
//     customer's own rules; for each match the (rule version, customer) counter grows by
//     one. The event that takes a counter to the rule's threshold raises exactly one alert
//     (the contract.Alert record, source "live", key = customer, alert_id deterministic);
//     counts keep growing afterwards without further alerts.
//   - Hand-off seam: per partition, each rule version records start, the offset of the
//     first event of that partition evaluated with it. Live counts cover offsets ≥ start;
//     a backfill job (handoff.go) counts the ones below and adds them.
//   - Counters live with the partition that owns the customer's events. Each partition's
//     state (rule versions with their start offsets, counters, pending backfills, the
//     next offset) is snapshotted to object storage periodically, when the partition is
//     revoked and at shutdown; a process newly owning a partition restores the newest
//     snapshot and resumes at its offset (snapshot.go), so counts are exact across
//     crashes and rebalances. Alerts are delivered at least once: a snapshot is stored
//     only after the alerts of the events it covers were delivered, and alerts raised
//     again after a crash carry the same alert_id, by which consumers drop duplicates.
//   - HTTP: /healthz, /metrics, /v1/rules, /v1/counts, /v1/state, and the rule console
//     (package console) at /. Cancelling Run's context drains the batch in hand,
//     delivers its alerts, commits, snapshots and returns nil; the daemon stops with an
//     error when it cannot start, its consumer is refused for good, or the stop could
//     not finish: the embedded archiver's final flush (lakehouse.ErrFinalFlush) or a
//     partition's snapshot (ErrFinalSnapshot) failed.
package live

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/window"
)

// DefaultArchiveFlushConcurrency is Config.ArchiveFlushConcurrency's default: one less
// than GOMAXPROCS, at least 1.
func DefaultArchiveFlushConcurrency() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// DefaultArchiveFeedWait is Config.ArchiveFeedWait's default: longer than the archiver
// takes to encode a file and make room (under a second for a 64 MiB file here).
const DefaultArchiveFeedWait = 5 * time.Second

// DefaultGCPercent is the garbage-collection target `hindsight live` runs with against
// external brokers unless GOGC is set: Go's default. A larger target was the default
// once, to collect less often, but a larger heap goal touches more fresh memory, and on
// a virtual machine every page faulted in costs microseconds: with GOGC 400, `bench
// throughput` read 275,262 and 329,524 events/s with one rule (3.70 and 3.29 CPU-s per
// million, 151 and 122 page faults per 1,000 events) against 411,392 and 411,277
// (2.61 and 2.64, 52 and 56) with GOGC 100, in alternating runs of one session; the
// latency runs beside them showed no difference beyond their noise. A smaller target
// does not pay either: with GOGC 50 (`bench throughput --gogc`, three pairs alternated
// with 100, 2026-12-02 16:35–16:39) one rule read 688,456, 757,887 and 777,082
// events/s against 758,777, 827,009 and 895,597, at 1.77–2.15 CPU-s per million
// against 1.58–1.84; with the archive and 1,000 rules the peak RSS fell by 50–113 MiB
// but the events/s by 4–30% (then the archiver still read most records a second time;
// see ArchiveGCPercent).
const DefaultGCPercent = 100

// ArchiveGCPercent is the target against external brokers with the embedded archive
// on. The heap then holds the fetched batches the archiver's feed keeps (up to
// --archive-feed-records of them and a poll), so Go's default doubles a large live
// heap: `hindsight bench throughput --gogc`, six pairs alternated with 100
// (2026-12-03 02:59–03:16), read 1 rule with the archive at a median of about 311k
// events/s against 328k and 1,000 rules half windowed at 149k against 144k (±20%
// between runs either way), with peak RSS 506–562 MiB against 558–609, and 509–570
// against 591–620 (the target is 600 MiB for 1M events). Without the archive it costs:
// 1 rule read 1.40–1.99 CPU-s per million against 1.33–1.48 in three of those pairs.
const ArchiveGCPercent = 50

// GCPercent is the daemon's garbage-collection target unless --gogc or GOGC says
// otherwise: ArchiveGCPercent with the embedded archive, DefaultGCPercent else,
// whether or not the embedded broker runs in the process. It once had a target of its
// own, 400, so that the broker's log on the heap would be marked less often; but the
// log is byte slices (in memory) or files (on disk), cheap to mark, and the larger heap
// goal only grew the heap into memory the process had never touched. With the
// embedded broker in memory (`hindsight live --ephemeral`, the archive on) serving
// `hindsight bench latency --brokers` at 20,000 events/s (2026-12-03 07:30–07:33,
// alternated): GOGC 400 gave that benchmark's daemon p99 344, 455 and 529 ms, the
// broker's process 1,965–2,228 MiB peak RSS and 14.1–14.7 CPU-s; GOGC 50 gave 27, 91
// and 152 ms, 916–941 MiB and 11.9–12.6 CPU-s (one run at 100: 109 ms, 1,195 MiB).
func GCPercent(archive bool) int {
	if archive {
		return ArchiveGCPercent
	}
	return DefaultGCPercent
}

// Config configures the daemon. Call EnsureDefaults, then Validate (Run does both).
type Config struct {
	// Kafka says how to reach the brokers. With no Brokers, Run starts the embedded
	// broker (see Embedded) and uses it.
	Kafka ingest.KafkaConfig
	// Topics names the topics. Defaults: events, controls, alerts, events.dlq, controls.status.
	Topics ingest.Topics
	// Embedded configures the broker started when Kafka.Brokers is empty. Defaults:
	// 127.0.0.1:9092, 4 events partitions, in memory. Its Topics are Config.Topics.
	Embedded ingest.EmbeddedConfig
	// Group is the consumer group of the events topic. Default "hindsight-live".
	Group string
	// StartAt is where a group with no committed offsets starts: "earliest" (default) or
	// "latest". A partition added to the topic of a group that has committed offsets
	// starts at its log's start either way.
	StartAt string
	// HTTPAddr is the address of the HTTP API. Default "127.0.0.1:8080"; port 0 picks a free port.
	HTTPAddr string
	// APIToken is the bearer token that the rule console's writes (saving and deleting
	// rules) must carry, and reads too unless PublicRead. Default "": writes are allowed
	// only when HTTPAddr is a loopback address (see console.WritePolicy), reads are open.
	APIToken string
	// PublicRead leaves reads open when APIToken is set. Default false: with a token,
	// every read (/v1/rules, /v1/counts, /v1/state, /metrics and the console's data)
	// needs it too; /healthz, /readyz and the console page's own files never do.
	PublicRead bool
	// AllowedHosts are Host headers requests may carry besides the listener's own
	// address (and, on a loopback or all-interfaces listener, localhost, 127.0.0.1 and
	// [::1] with its port; on an all-interfaces listener any IP address with its port):
	// "name" allows any port, "name:port" that port, "*" any host. Default none. Any
	// other Host is refused (403), so that a page of another site whose name resolves to
	// this daemon (DNS rebinding) cannot use it through a browser. Behind a proxy, list
	// the name clients use.
	AllowedHosts []string

	// Limits of the HTTP API (README.md, "Limits"). Each one's value shows in /metrics
	// as hindsight_limit{name}, and each time a request reaches one,
	// hindsight_limit_reached_total{name} grows and the answer says which.

	// HTTPMaxConnections caps the HTTP connections held at once; further ones wait in
	// the kernel's accept queue. It keeps a flood of connections from taking the file
	// descriptors that storage and Kafka need: keep it well below the process's limit
	// of open files. Default 512.
	HTTPMaxConnections int
	// HTTPReadHeaderTimeout bounds reading a request's line and headers. Default 10s.
	HTTPReadHeaderTimeout time.Duration
	// HTTPReadTimeout bounds reading a whole request, body included. Default 30s.
	HTTPReadTimeout time.Duration
	// HTTPWriteTimeout bounds writing an answer, from the end of the request's headers;
	// a console stream bounds each of its writes by it instead. Default 1m; it must
	// exceed PreviewTimeout.
	HTTPWriteTimeout time.Duration
	// HTTPIdleTimeout closes a keep-alive connection that waits this long for its next
	// request. Default 2m.
	HTTPIdleTimeout time.Duration
	// HTTPMaxHeaderBytes caps a request's line and headers (431 beyond). Default 64 KiB.
	HTTPMaxHeaderBytes int
	// HTTPMaxBodyBytes caps a request's body (413 beyond). Default 1 MiB.
	HTTPMaxBodyBytes int64
	// HTTPMaxStreams caps the console's live streams (server-sent events) open at once
	// (503 beyond). Default 64; below HTTPMaxConnections.
	HTTPMaxStreams int
	// HTTPMaxHeavyRequests caps the requests that walk every counter or read the lake —
	// /v1/counts listings, console previews and count listings — running at once (503
	// with Retry-After beyond). Default 4.
	HTTPMaxHeavyRequests int
	// CountsPageSize is how many customers a /v1/counts listing returns when the request
	// sets no limit. Default 1000.
	CountsPageSize int
	// CountsMaxPageSize is the largest limit a /v1/counts listing may ask for (400
	// beyond). Default 10000.
	CountsMaxPageSize int
	// PreviewTimeout bounds a console preview's reading of the lake: the events read by
	// then are evaluated and the answer says it was cut short. Default 15s.
	PreviewTimeout time.Duration
	// PreviewMaxScan bounds the archived events one preview reads. Default 1,000,000.
	PreviewMaxScan int
	// PreviewMaxBytes bounds the bytes of example events one preview returns. Default
	// 1 MiB.
	PreviewMaxBytes int
	// PreviewSample is how many of the lake's most recent events a console preview
	// evaluates when the request does not say; PreviewMaxSample the most a request may
	// ask for (400 beyond). Default console.DefaultPreviewSample and
	// console.DefaultPreviewMaxSample.
	PreviewSample, PreviewMaxSample int
	// ConsoleRecentAlerts is how many recent alerts the console keeps, and sends every
	// stream that opens. Default console.DefaultRecentAlerts, at most
	// console.MaxRecentAlerts.
	ConsoleRecentAlerts int
	// ConsoleStreamBacklog is how many new alerts a console stream may fall behind
	// before it is ended (the page reconnects). Default console.DefaultStreamBacklog, at
	// most console.MaxStreamBacklog.
	ConsoleStreamBacklog int
	// ConsoleTopCustomers is how many customers per rule the console's rules list shows.
	// Default console.DefaultTopCustomers, at most CountsMaxPageSize (which also bounds
	// the console's counts listing).
	ConsoleTopCustomers int
	// ConsoleWindowsPageSize and ConsoleWindowsMaxPageSize are the customers of a
	// console windows page when the request sets no limit, and the most it may ask for
	// (400 beyond). Default console.DefaultWindowsPageSize and
	// console.DefaultWindowsMaxPageSize.
	ConsoleWindowsPageSize, ConsoleWindowsMaxPageSize int
	// ConsoleMutesPageSize and ConsoleMutesMaxPageSize are the mutes of a console mutes
	// page when the request sets no limit, and the most it may ask for (400 beyond).
	// Default console.DefaultMutesPageSize and console.DefaultMutesMaxPageSize.
	ConsoleMutesPageSize, ConsoleMutesMaxPageSize int
	// MaxSnapshotAge is how long a partition's changed state may go without a stored
	// snapshot before /readyz fails. Default 5m; it must exceed SnapshotInterval.
	MaxSnapshotAge time.Duration
	// MaxConsumerStall is how long an owned events partition may have records to read
	// (up to its last stable offset) and handle none before /readyz fails: its fetches
	// fail, or its batches stopped being handled. An idle partition, and one read however
	// far behind, never stall. Default 2m; more than twice ConsumerLagInterval, how often
	// it is measured.
	MaxConsumerStall time.Duration
	// MaxProduceStall is how long a record produced for events (an alert, a dead
	// letter) may wait for its topic before /readyz fails: a topic refusing every write,
	// even with a retriable error the client retries without end, holds its events'
	// offsets rightly but showed nothing until MaxPendingProduceBytes filled. Default 2m.
	MaxProduceStall time.Duration
	// MaxArchiveLag is how many records the embedded archiver may trail Kafka by on a
	// partition before /readyz fails. Default 1,000,000.
	MaxArchiveLag int64
	// NoCreateTopics skips creating missing topics on external brokers. Default false:
	// missing topics are created (events with Embedded.Partitions partitions).
	NoCreateTopics bool
	// CommitInterval is how often processed event offsets are committed. Default 1s.
	CommitInterval time.Duration
	// MaxQueuedRecords bounds the events taken from Kafka and not yet evaluated, past
	// which the consumer takes no further fetch (ingest.EventsConfig.MaxQueuedRecords).
	// Default ingest.DefaultMaxQueuedRecords.
	MaxQueuedRecords int
	// MaxQueuedBytes bounds the same events by their bytes (keys, values and headers,
	// ingest.EventsConfig.MaxQueuedBytes). Default ingest.DefaultMaxQueuedBytes.
	MaxQueuedBytes int64
	// MaxPendingProduceBytes bounds the alerts and dead letters produced for events
	// and not yet acknowledged: past it no further fetch is taken
	// (ingest.EventsConfig.MaxPendingProduceBytes). Default
	// ingest.DefaultMaxPendingProduceBytes.
	MaxPendingProduceBytes int64
	// MaxDecompressedBatchBytes bounds one record batch of events once decompressed:
	// a partition whose batch is larger stops at it, logged and counted, until the
	// bound is raised (ingest.EventsConfig.MaxDecompressedBatchBytes). Default
	// ingest.DefaultMaxDecompressedBatchBytes.
	MaxDecompressedBatchBytes int
	// FetchMaxBytes bounds one fetch of events from a broker
	// (ingest.EventsConfig.FetchMaxBytes, which says why it is small). Default
	// ingest.DefaultFetchMaxBytes.
	FetchMaxBytes int32
	// DeadLetterMaxBytes bounds a dead letter, cut to fit past it
	// (ingest.EventsConfig.DeadLetterMaxBytes). Default
	// ingest.DefaultDeadLetterMaxBytes.
	DeadLetterMaxBytes int
	// AlertMaxBytes bounds an alert record's key and value (ingest.RecordBytes). An
	// alert over it has its context values left out, the largest first, then its
	// group values (contract.Alert.ContextCut, GroupCut); one that is still over (a
	// customer id of hundreds of KB) goes to the dead-letter topic
	// (ingest.ReasonNotProduced). Default DefaultAlertMaxBytes.
	AlertMaxBytes int
	// ShutdownTimeout bounds, each apart, the steps of a stop (and of a revocation):
	// delivering in-flight alerts, the offset commit, the partitions' snapshots and the
	// embedded archiver's final flush (lakehouse.ArchiverConfig.ShutdownTimeout). A
	// restore is bounded by it + 30s, and ends at once when the daemon stops. Default 10s.
	ShutdownTimeout time.Duration
	// AlertLinger is how long an alert may wait to be batched with others before it is
	// sent. Default 0: at once. A millisecond or two saves broker round trips at high
	// alert rates. At most ingest.MaxProduceLinger.
	AlertLinger time.Duration

	// LakeURL is the Parquet archive of every event (see lakehouse.OpenBucket), written by
	// the archiver that runs inside the daemon and read by backfill. Default: DataDir's
	// lake; without DataDir, lakehouse.DefaultLakeURL with external brokers and, with
	// the embedded (in-memory) broker, a fresh temporary directory removed at exit,
	// because a lake indexed by the offsets of a broker that no longer exists would be
	// wrong for the next one.
	LakeURL string
	// DataDir, when set, keeps what this process stores locally across restarts: the
	// embedded broker's log (DataDir/kafka, unless Embedded.DataDir), the lake
	// (DataDir/lake, unless LakeURL; partition snapshots go in it) and the backfill
	// cache (DataDir/cache, unless BackfillCacheDir). Default "": all of it ephemeral
	// (`hindsight live --ephemeral`; the command's default is ./hindsight-data).
	DataDir string
	// NoArchive leaves archiving to a separate `hindsight archive`. Default false: the
	// daemon archives.
	NoArchive bool
	// NoBackfill makes new rule versions count only events from their activation on.
	// Default false: history is counted by a hand-off backfill job (docs/architecture.md).
	NoBackfill bool
	// BackfillConcurrency bounds the hand-off jobs that run at once. Default (0) 2;
	// negative is refused.
	BackfillConcurrency int
	// BackfillMemoryLimit bounds, in bytes, the memory DuckDB may use for one hand-off
	// job (backfill.Config.MemoryLimit). Default backfill.DefaultMemoryLimit.
	BackfillMemoryLimit int64
	// BackfillMaxSpillBytes bounds, in bytes, what DuckDB may spill to disk for one
	// hand-off job (backfill.Config.MaxSpillBytes; hindsight_limit{name=
	// "backfill_max_spill_bytes"}, and a job that reaches it fails, counted in
	// hindsight_limit_reached_total). Default (0) backfill.DefaultMaxSpillBytes;
	// negative: DuckDB's own (90% of the free disk).
	BackfillMaxSpillBytes int64
	// BackfillCacheDir holds local copies of lake files for DuckDB. Default: DataDir's
	// cache, else a fresh temporary directory that Start makes and the daemon removes
	// at exit.
	BackfillCacheDir string
	// BackfillCacheMaxBytes bounds it (the oldest files go first;
	// hindsight_limit{name="backfill_cache_max_bytes"}, and each pass that deleted files
	// counts in hindsight_limit_reached_total). Default (0) backfill.DefaultCacheMaxBytes;
	// negative is refused.
	BackfillCacheMaxBytes int64
	// BackfillMinBackoff and BackfillMaxBackoff bound the wait between attempts of a
	// failing job. Defaults 500ms and 30s.
	BackfillMinBackoff, BackfillMaxBackoff time.Duration
	// StateURL is the bucket (see lakehouse.OpenBucket) where each partition's state is
	// snapshotted, under state/. Default: LakeURL's bucket.
	StateURL string
	// RestoreFrom is a bucket of snapshots (as StateURL) that seeds partitions StateURL
	// has no snapshot of yet: a backup, or the state of a previous deployment. Default:
	// none.
	RestoreFrom string
	// RestorePatience is how long a restore waits for what it reads that fails for an
	// outage: the listing of the events partitions' offsets, and the snapshot store
	// (from the first failed read of an outage; shared by the partitions restored meanwhile). Tried
	// again with backoff meanwhile, so that Kafka or storage coming back a few seconds
	// after the daemon (a power cut) does not restore the partitions empty; past it a
	// partition that could not be restored starts empty, logged, counted in
	// hindsight_snapshot_restore_failures_total and shown in /v1/state. The restore as
	// a whole stays within ShutdownTimeout + 30s, which bounds these waits too. Default
	// DefaultRestorePatience.
	RestorePatience time.Duration
	// StorageTimeout bounds each request to the object storage of LakeURL, StateURL and
	// RestoreFrom (the archiver's, the snapshots', a hand-off's backfill and a
	// preview's) that makes no progress: no answer, or no byte of a body either way,
	// for this long (lakehouse.StorageConfig.Timeout). Past it the request is
	// abandoned, logged, counted in
	// hindsight_limit_reached_total{name="storage_timeout_seconds"}, and retried.
	// Default lakehouse.DefaultStorageTimeout; negative: none.
	StorageTimeout time.Duration
	// SnapshotInterval is how often each owned partition's state is snapshotted when it
	// changed. Partitions are also snapshotted when revoked and at shutdown. Default 30s.
	SnapshotInterval time.Duration
	// NoSnapshots turns durable state off: a partition new to this process recounts its
	// history by backfill instead of restoring a snapshot; with NoBackfill too, its
	// counts say they lack the history below the group's commit. Default false.
	NoSnapshots bool
	// MaxSnapshotBytes bounds a partition snapshot's body, decompressed: a restore
	// refuses a snapshot claiming more before allocating it, or an object longer than
	// such a body seals to before reading it whole (ErrSnapshotTooLarge, skipped as a
	// damaged one; with none left the partition is held, /readyz naming the limit that
	// restores it), and a partition whose state encodes larger stores
	// none, the error in its last_error. Default DefaultMaxSnapshotBytes; at most, and
	// negative, MaxSnapshotBytesCap.
	MaxSnapshotBytes int64
	// SessionTimeout is how long the group waits for a crashed member before giving its
	// partitions to the others. Default: franz-go's 45s (the broker bounds it).
	SessionTimeout time.Duration
	// InstanceID makes this process a static group member: restarted with the same id it
	// takes its partitions back at once. Default "": dynamic.
	InstanceID string
	// WindowLimits bound the state of each rule kept per group and window, per
	// partition (package window; a rule's limits field overrides them). Defaults
	// window.DefaultLimits: 100,000 groups, 10,000 distinct values per window.
	WindowLimits window.Limits
	// MaxCounters bounds a partition's running totals, (customer, plain rule) counters:
	// a match that needs a new one past it is not counted, and its rule is degraded
	// (contract.RuleView.Degraded). Each costs about 60 bytes and its customer's id
	// (up to rule.Limits.MaxCustomerBytes), so the bound is the store's memory. Default
	// DefaultMaxCounters; negative: none.
	MaxCounters int
	// MaxCustomerIDBytes bounds, as MaxCounters their number, the bytes of the customer
	// ids a partition's running totals hold (a new customer past it is refused alike).
	// Default DefaultMaxCustomerIDBytes; at most, and negative, 4 GiB less one byte,
	// what the store's offsets address.
	MaxCustomerIDBytes int64
	// MaxHistoryAlerts bounds, per rule version and partition, the firings of history a
	// windowed or grouped rule with backfill.alert sends when it starts: past it, an
	// event's firings are not sent (the rule view's history says how many,
	// alerts_cut), nor their resolves. Default DefaultMaxHistoryAlerts; negative: no
	// bound.
	MaxHistoryAlerts int
	// MaxHistoryDays bounds, per rule version, the days of history's firings its rule
	// view lists (history.per_day), the latest: the firings of earlier days are counted
	// in history.per_day_cut. Default DefaultMaxHistoryDays; negative: no bound.
	MaxHistoryDays int
	// HandoffBufferBytes bounds, per rule version and partition, the events a windowed
	// or grouped rule version buffers while its history is computed (windowhandoff.go).
	// Beyond it the version starts without history, and its rule view says so
	// (incomplete, status error). Default 64 MiB.
	HandoffBufferBytes int64
	// HandoffBuffersBytes bounds the events all windowed or grouped versions buffer
	// together, over every partition, while their history is computed: the versions
	// of a rules file applied at once wait in one queue for the backfill workers, each
	// buffering meanwhile, so HandoffBufferBytes alone let their sum reach versions
	// times partitions times it. A version whose next event would pass it starts
	// without history, as at HandoffBufferBytes. Default 512 MiB.
	HandoffBuffersBytes int64
	// LakeColumns are JSONPaths the embedded archiver types (lakehouse.TypedColumn)
	// besides those the active rules read, which it always types: paths of rules yet
	// to come. Default none.
	LakeColumns []string
	// LakeMaxColumns bounds the paths typed; past it the rest are read from the JSON
	// payload (hindsight_lake_typed_paths_over_limit). Default 32; negative: none.
	LakeMaxColumns int
	// ArchiveFeedRecords bounds the fetched records the event consumer hands the
	// embedded archiver ahead of its reading them (lakehouse.Feed): each record is
	// fetched and decompressed once for both. Past it batches are dropped and the
	// archiver reads them from Kafka itself. Default lakehouse.DefaultFeedRecords.
	ArchiveFeedRecords int
	// ArchiveFeedBytes bounds the same records by their keys', values' and headers' bytes, as
	// ArchiveFeedRecords by their number. Default lakehouse.DefaultFeedBytes.
	ArchiveFeedBytes int64
	// ArchiveFeedWait is how long the event consumer waits, before a fetch, for the
	// archiver to take what it was handed while the feed lacks room for another poll
	// like the last
	// (lakehouse.Feed.WaitRoom): in a backlog evaluation then keeps the archiver's
	// pace instead of running ahead and having it fetch and parse most records a
	// second time. After a wait that ran out the consumer no longer waits until the
	// archiver takes records again. Default DefaultArchiveFeedWait; negative: never
	// wait (evaluation never slows for the archive).
	ArchiveFeedWait time.Duration
	// ArchiveFlushConcurrency is how many files the embedded archiver encodes at once.
	// Default DefaultArchiveFlushConcurrency(): one core fewer than GOMAXPROCS, at
	// least one, so that encoding rolled files (the archiver's heaviest work) never
	// takes every core from the evaluator. (At 20,000 events/s on 2 cores the embedded
	// archiver raised the median ingest→alert latency from 5.5 to 206 ms in one pair of
	// runs of bench latency.) While the evaluator is idle (no batch in hand and none
	// for 250 ms) and the process is not near its MemoryLimit, it encodes one file
	// more (lakehouse.ArchiverConfig.SpareCore).
	ArchiveFlushConcurrency int
	// ArchiveRollAge is how long the embedded archiver keeps a file open: how far the
	// lake trails Kafka under light traffic. Default: the archiver's (1m).
	ArchiveRollAge time.Duration
	// ConsumerLagInterval is how often the event consumer measures every owned
	// partition's lag against the log's end (hindsight_consumer_lag_records, /readyz's
	// MaxConsumerStall). Default ingest.DefaultLagInterval.
	ConsumerLagInterval time.Duration
	// ArchiveLagInterval is how often the embedded archiver measures how far the lake
	// trails Kafka (hindsight_archive_lag_*, /readyz's --max-archive-lag). Default: the
	// archiver's (10s).
	ArchiveLagInterval time.Duration
	// ArchiveCompression is the lake files' codec (lakehouse.ArchiverConfig.Compression).
	// Default lakehouse.CompressionZstd.
	ArchiveCompression string
	// ArchiveRetention makes the embedded archiver drop lake files whose newest event
	// is older than this (lakehouse.ArchiverConfig.Retention); history they held is
	// read from Kafka while it still holds it, and where it then starts is said
	// (contract.RuleHistory.Truncated). Default 0: keep everything.
	ArchiveRetention time.Duration
	// ArchiveMaintainInterval is how often the embedded archiver merges small files,
	// applies ArchiveRetention and deletes replaced files
	// (lakehouse.ArchiverConfig.CompactInterval). Default the archiver's (10m);
	// negative: never.
	ArchiveMaintainInterval time.Duration
	// ArchiveMaxBufferedBytes bounds the raw JSON the embedded archiver holds in
	// memory (lakehouse.ArchiverConfig.MaxBufferedBytes): past it files close early,
	// and while storage lags the archiver takes no more records (the event consumer's
	// feed then drops batches, which the archiver reads from Kafka later). Default
	// lakehouse.DefaultMaxBufferedBytes; at least lakehouse.DefaultRollBytes.
	ArchiveMaxBufferedBytes int64
	// ArchiveMaxHourSplits is the embedded archiver's MaxHourSplits: files a partition
	// closes per ArchiveRollAge for an event of a later hour. Default
	// lakehouse.DefaultMaxHourSplits; negative: no bound.
	ArchiveMaxHourSplits int
	// MemoryLimit is the process's memory budget in bytes: the Go runtime's memory
	// and the archive's buffers outside the Go heap (package memlimit). As the
	// process nears it the collector works harder and gives memory back sooner; at it,
	// the archive's buffers kept for reuse are given back and
	// hindsight_limit_reached_total{name="memory_limit_bytes"} grows. It is soft: a
	// process that needs more keeps running, its collector taking more CPU. It sets
	// the runtime's limit while the daemon runs (the GOMEMLIMIT variable, if any,
	// again afterwards), so one daemon per process may have one. Default 0: none.
	MemoryLimit int64
	// Logger receives operational logs. Default slog.Default().
	Logger *slog.Logger
	// Registry is where metrics are registered and what /metrics serves. Default: a new
	// registry with Go and process collectors.
	Registry *prometheus.Registry
	// Notify configures the embedded notify stage (delivery of alerts to destinations);
	// its Kafka, Topics, Registry, Loaded, Logger and Registerer are the daemon's.
	// NoNotify leaves delivery to `hindsight notify`.
	Notify   notify.Config
	NoNotify bool
}

// EnsureDefaults fills unset fields with their documented defaults.
func (c *Config) EnsureDefaults() {
	if c.ArchiveFlushConcurrency == 0 {
		c.ArchiveFlushConcurrency = DefaultArchiveFlushConcurrency()
	}
	if c.ArchiveFeedRecords <= 0 {
		c.ArchiveFeedRecords = lakehouse.DefaultFeedRecords
	}
	if c.ArchiveFeedBytes <= 0 {
		c.ArchiveFeedBytes = lakehouse.DefaultFeedBytes
	}
	if c.ArchiveFeedWait == 0 {
		c.ArchiveFeedWait = DefaultArchiveFeedWait
	}
	if c.DataDir != "" {
		if abs, err := filepath.Abs(c.DataDir); err == nil {
			c.DataDir = abs // a file:// URL of a relative path would read its first element as a host
		}
		if c.Embedded.DataDir == "" {
			c.Embedded.DataDir = filepath.Join(c.DataDir, "kafka")
		}
		if c.LakeURL == "" {
			c.LakeURL = "file://" + filepath.Join(c.DataDir, "lake")
		}
		if c.BackfillCacheDir == "" {
			c.BackfillCacheDir = filepath.Join(c.DataDir, "cache")
		}
	}
	c.WindowLimits = c.WindowLimits.EnsureDefaults()
	if c.MaxCounters == 0 {
		c.MaxCounters = DefaultMaxCounters
	}
	if c.MaxHistoryAlerts == 0 {
		c.MaxHistoryAlerts = DefaultMaxHistoryAlerts
	}
	if c.MaxHistoryDays == 0 {
		c.MaxHistoryDays = DefaultMaxHistoryDays
	}
	switch {
	case c.MaxCustomerIDBytes == 0:
		c.MaxCustomerIDBytes = DefaultMaxCustomerIDBytes
	case c.MaxCustomerIDBytes < 0:
		c.MaxCustomerIDBytes = maxNameBytes
	}
	switch {
	case c.MaxSnapshotBytes == 0:
		c.MaxSnapshotBytes = DefaultMaxSnapshotBytes
	case c.MaxSnapshotBytes < 0:
		c.MaxSnapshotBytes = MaxSnapshotBytesCap
	}
	if c.HandoffBufferBytes <= 0 {
		c.HandoffBufferBytes = DefaultHandoffBufferBytes
	}
	if c.HandoffBuffersBytes <= 0 {
		c.HandoffBuffersBytes = DefaultHandoffBuffersBytes
	}
	if c.LakeMaxColumns == 0 {
		c.LakeMaxColumns = DefaultLakeMaxColumns
	}
	if c.AlertMaxBytes == 0 {
		c.AlertMaxBytes = DefaultAlertMaxBytes
	}
	// The event consumer's settings take the defaults of ingest.EventsConfig, which
	// they are handed to, so that the two cannot drift apart.
	ev := ingest.EventsConfig{Kafka: c.Kafka, Topics: c.Topics, Group: c.Group, StartAt: c.StartAt,
		CommitInterval: c.CommitInterval, ShutdownTimeout: c.ShutdownTimeout, MaxQueuedRecords: c.MaxQueuedRecords,
		MaxQueuedBytes: c.MaxQueuedBytes, MaxPendingProduceBytes: c.MaxPendingProduceBytes, FetchMaxBytes: c.FetchMaxBytes, DeadLetterMaxBytes: c.DeadLetterMaxBytes,
		MaxDecompressedBatchBytes: c.MaxDecompressedBatchBytes}
	ev.EnsureDefaults()
	c.Kafka, c.Topics, c.Group, c.StartAt = ev.Kafka, ev.Topics, ev.Group, ev.StartAt
	c.CommitInterval, c.ShutdownTimeout, c.MaxQueuedRecords = ev.CommitInterval, ev.ShutdownTimeout, ev.MaxQueuedRecords
	c.MaxQueuedBytes, c.FetchMaxBytes, c.DeadLetterMaxBytes = ev.MaxQueuedBytes, ev.FetchMaxBytes, ev.DeadLetterMaxBytes
	c.MaxPendingProduceBytes, c.MaxDecompressedBatchBytes = ev.MaxPendingProduceBytes, ev.MaxDecompressedBatchBytes
	c.Embedded.Topics = c.Topics
	c.Embedded.EnsureDefaults()
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:8080"
	}
	if c.BackfillConcurrency == 0 {
		c.BackfillConcurrency = 2
	}
	if c.StorageTimeout == 0 {
		c.StorageTimeout = lakehouse.DefaultStorageTimeout
	}
	if c.BackfillCacheMaxBytes == 0 {
		c.BackfillCacheMaxBytes = backfill.DefaultCacheMaxBytes
	}
	if c.BackfillMemoryLimit == 0 {
		c.BackfillMemoryLimit = backfill.DefaultMemoryLimit
	}
	if c.BackfillMaxSpillBytes == 0 {
		c.BackfillMaxSpillBytes = backfill.DefaultMaxSpillBytes
	}
	if c.ArchiveMaxBufferedBytes == 0 {
		c.ArchiveMaxBufferedBytes = lakehouse.DefaultMaxBufferedBytes
	}
	if c.SnapshotInterval <= 0 {
		c.SnapshotInterval = 30 * time.Second
	}
	if c.RestorePatience == 0 {
		c.RestorePatience = DefaultRestorePatience
	}
	if c.BackfillMinBackoff <= 0 {
		c.BackfillMinBackoff = 500 * time.Millisecond
	}
	if c.BackfillMaxBackoff <= 0 {
		c.BackfillMaxBackoff = 30 * time.Second
	}
	c.ensureHTTPDefaults()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Notify.Kafka, c.Notify.Topics, c.Notify.Logger = c.Kafka, c.Topics, c.Logger
	c.Notify.EnsureDefaults()
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
		c.Registry.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	}
}

// Validate reports configuration mistakes. Call EnsureDefaults first.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Topics.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.StartAt != "earliest" && c.StartAt != "latest" {
		errs = append(errs, fmt.Errorf("start-at %q: use earliest or latest", c.StartAt))
	}
	if err := lakehouse.CheckCompression(c.ArchiveCompression); err != nil {
		errs = append(errs, fmt.Errorf("archive-%w", err))
	}
	if c.ArchiveRetention < 0 {
		errs = append(errs, fmt.Errorf("archive retention %v: use a duration, or 0 to keep everything", c.ArchiveRetention))
	}
	if c.ArchiveRetention > 0 && c.ArchiveMaintainInterval < 0 && !c.NoArchive {
		// The embedded archiver would refuse it only once the daemon had started.
		errs = append(errs, fmt.Errorf("archive retention %v (--archive-retention) with archive maintain interval %v (--archive-maintain-interval): give a positive interval, or retention 0: %w",
			c.ArchiveRetention, c.ArchiveMaintainInterval, lakehouse.ErrRetentionNeverApplied))
	}
	if c.MaxCounters > math.MaxInt32-1 {
		// A partition's counters are indexed by int32.
		errs = append(errs, fmt.Errorf("max counters %d: at most %d (negative: no bound, still at most that many)", c.MaxCounters, math.MaxInt32-1))
	}
	if err := window.CheckMaxCustomerIDBytes(c.MaxCustomerIDBytes); err != nil {
		errs = append(errs, err)
	}
	if c.MaxSnapshotBytes > MaxSnapshotBytesCap {
		errs = append(errs, fmt.Errorf("max snapshot bytes %d (--max-snapshot-bytes): at most %d, the largest block S2 encodes (negative: that)", c.MaxSnapshotBytes, int64(MaxSnapshotBytesCap)))
	}
	// The embedded archiver checks its own configuration only once the daemon has
	// started: its flags are checked here, before anything is done.
	if c.ArchiveRollAge < 0 {
		errs = append(errs, fmt.Errorf("archive roll age %v: use a duration, or 0 for the default", c.ArchiveRollAge))
	}
	if c.ConsumerLagInterval < 0 {
		errs = append(errs, fmt.Errorf("consumer lag interval %v: use a duration, or 0 for the default", c.ConsumerLagInterval))
	}
	if c.RestorePatience < 0 {
		errs = append(errs, fmt.Errorf("restore patience %v: use a duration, or 0 for the default", c.RestorePatience))
	}
	if c.ArchiveLagInterval < 0 {
		errs = append(errs, fmt.Errorf("archive lag interval %v: use a duration, or 0 for the default", c.ArchiveLagInterval))
	}
	if c.ArchiveFlushConcurrency < 0 {
		errs = append(errs, fmt.Errorf("archive flush concurrency %d: use a number of files, or 0 for the default", c.ArchiveFlushConcurrency))
	}
	if c.SessionTimeout < 0 || (c.SessionTimeout > 0 && c.SessionTimeout < lakehouse.MinSessionTimeout) || c.SessionTimeout > lakehouse.MaxSessionTimeout {
		errs = append(errs, fmt.Errorf("session timeout %v (--session-timeout): at least %v and at most %v (the Kafka client's bounds), or 0 for its default", c.SessionTimeout, lakehouse.MinSessionTimeout, lakehouse.MaxSessionTimeout))
	}
	if c.AlertLinger < 0 || c.AlertLinger > ingest.MaxProduceLinger {
		errs = append(errs, fmt.Errorf("alert linger %v (--alert-linger): at most %v (the Kafka client's most), or 0 to send at once", c.AlertLinger, ingest.MaxProduceLinger))
	}
	if c.ArchiveMaxBufferedBytes != 0 && c.ArchiveMaxBufferedBytes < lakehouse.DefaultRollBytes {
		errs = append(errs, fmt.Errorf("archive max buffered bytes %d: at least the archiver's file size, %d", c.ArchiveMaxBufferedBytes, lakehouse.DefaultRollBytes))
	}
	if c.MemoryLimit < 0 {
		errs = append(errs, fmt.Errorf("memory limit %d: use a number of bytes, or 0 for none", c.MemoryLimit))
	}
	// Negative had silently meant the default; a mistake is said rather than run.
	if c.BackfillConcurrency < 0 {
		errs = append(errs, fmt.Errorf("backfill concurrency %d (--backfill-concurrency): use a positive number of jobs, or 0 for the default", c.BackfillConcurrency))
	}
	if c.BackfillCacheMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("backfill cache max bytes %d (--backfill-cache-max-bytes): use a positive number of bytes, or 0 for the default", c.BackfillCacheMaxBytes))
	}
	if c.AlertMaxBytes < MinAlertMaxBytes || c.AlertMaxBytes > c.DeadLetterMaxBytes-ingest.NotProducedRoom {
		errs = append(errs, fmt.Errorf("alert max bytes %d: at least %d, room for an alert's own fields, and at most %d, the dead-letter bound less %d for the headers an alert refused by the brokers is dead-lettered with",
			c.AlertMaxBytes, MinAlertMaxBytes, c.DeadLetterMaxBytes-ingest.NotProducedRoom, ingest.NotProducedRoom))
	}
	if c.DeadLetterMaxBytes > ingest.MaxRecordBytes {
		errs = append(errs, fmt.Errorf("dead letter max bytes %d: at most %d, what the client takes in one record", c.DeadLetterMaxBytes, ingest.MaxRecordBytes))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("http address %q: %w", c.HTTPAddr, err))
	}
	if len(c.Kafka.Brokers) == 0 {
		if _, _, err := net.SplitHostPort(c.Embedded.Addr); err != nil {
			errs = append(errs, fmt.Errorf("embedded broker address %q: %w", c.Embedded.Addr, err))
		}
	}
	if c.Embedded.Partitions > ingest.MaxPartitions {
		errs = append(errs, fmt.Errorf("events partitions %d is above the maximum %d (--partitions)", c.Embedded.Partitions, ingest.MaxPartitions))
	}
	if c.Embedded.RetentionBytes < 0 {
		errs = append(errs, fmt.Errorf("embedded broker retention %d: use a number of bytes, or 0 to keep all", c.Embedded.RetentionBytes))
	}
	for _, p := range c.LakeColumns {
		if err := lakehouse.CheckColumnPath(p); err != nil {
			errs = append(errs, fmt.Errorf("--lake-columns: %w", err))
		}
	}
	errs = append(errs, c.validateHTTP()...)
	if !c.NoNotify {
		if err := c.Notify.ValidateOptions(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("live: invalid configuration: %w", err)
	}
	return nil
}

// DefaultRestorePatience is Config.RestorePatience's default: an outage of Kafka or
// of the snapshot store of a few seconds as the daemon starts is waited out.
const DefaultRestorePatience = 15 * time.Second

// DefaultAlertMaxBytes is Config.AlertMaxBytes' default: 959 KiB, below the client's
// bound on a record batch and Kafka's default bound on a message, and
// ingest.NotProducedRoom (1 KiB) below the default dead-letter bound, so that an alert
// the brokers refuse is dead-lettered whole.
const DefaultAlertMaxBytes = ingest.DefaultDeadLetterMaxBytes - ingest.NotProducedRoom

// MinAlertMaxBytes is the least Config.AlertMaxBytes: an alert's fields but its
// customer, group and context take about 600 bytes with a long rule id.
const MinAlertMaxBytes = 4 << 10
