package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

func newLiveCmd() *cobra.Command {
	var (
		cfg        live.Config
		ruleLimits rule.Limits
		logLevel   string
		gogc       int
		ephemeral  bool
	)
	cmd := &cobra.Command{
		Use:   "live",
		Short: "Run the live evaluator: events and rules from Kafka, per-customer counts, alerts",
		Long: `Run the live evaluator. It reads every rule from the controls topic, then consumes the
events topic in a consumer group, counts per customer the events each rule qualifies, and
publishes an alert on the alerts topic the moment a count reaches its rule's threshold.

With no --brokers it starts an embedded Kafka-protocol broker on --embedded-addr with the
topics events, controls, alerts, events.dlq, controls.status and alerts.undelivered, and
logs its address. Everything it keeps is under --data-dir (./hindsight-data): the
embedded broker's log, the lake (where the other commands look by default) and the
state, so a restart keeps the events, rules, counts and history; --ephemeral keeps
nothing.
Every flag can also be set with an environment variable: --brokers as HINDSIGHT_BROKERS,
--sasl-password as HINDSIGHT_SASL_PASSWORD, and so on. SIGINT or SIGTERM drains the
events in hand, delivers their alerts, commits offsets, snapshots and exits 0, or 1
when the embedded archiver could not write what it held (storage down: "final flush"),
as hindsight archive does: those events stay in Kafka, and the next start archives
them; or when a partition's snapshot could not be stored ("final snapshot"): it
restarts from its previous one and evaluates the events since again.
A second signal exits at once, status 1, leaving the stop as kill -9 would.

State: each partition's counters, rule start offsets and pending backfills are
snapshotted to --state (default: the lake's bucket) every --snapshot-interval, when the
partition is revoked and at shutdown; a process that gets the partition (restart, crash,
rebalance) restores the newest snapshot and resumes at its offset. Alerts of events after
the snapshot may be published again with the same alert_id: consumers drop duplicates.

HTTP: /healthz, /metrics (Prometheus), /v1/rules, /v1/counts?scope=*&rule=ID&customer=C,
/v1/state (per-partition snapshot offset and age). The rule console, a web page to write,
preview and save rules and watch alerts, is at / (its API under /v1/console/); saving
needs --api-token unless --http is a loopback address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := envLogger(cmd, logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			if err := applyRuleLimits(ruleLimits); err != nil {
				return err
			}
			if ephemeral {
				if err := checkEphemeral(cmd); err != nil {
					return err
				}
				cfg.DataDir = ""
			}
			// Before the defaults fill them: "" is a default, not a bad URL.
			for _, b := range []struct{ flag, url string }{{"lake", cfg.LakeURL}, {"state", cfg.StateURL}, {"restore-from", cfg.RestoreFrom}} {
				if b.url == "" {
					continue
				}
				if err := checkBucketFlag(b.flag, b.url); err != nil {
					return err
				}
			}
			if err := checkDecompressedBatch(cfg.MaxDecompressedBatchBytes); err != nil {
				return err
			}
			reserveFlagVariables(cmd, &cfg.Notify)
			cfg.EnsureDefaults()
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			setGCPercent(gogc, !cfg.NoArchive)
			return live.Run(cmd.Context(), cfg)
		},
	}
	// Flag defaults are the ones EnsureDefaults applies, so that help shows what runs.
	def := live.Config{Logger: slog.Default()}
	def.EnsureDefaults()
	f := cmd.Flags()
	addKafkaFlags(f, &cfg.Kafka, &cfg.Topics, "", allTopics)
	f.StringVar(&cfg.HTTPAddr, "http", def.HTTPAddr, "HTTP listen address (port 0: any free port)")
	f.StringVar(&cfg.APIToken, "api-token", "", "bearer token the rule console's writes must carry (prefer HINDSIGHT_API_TOKEN; printable ASCII, no spaces; without one, writes only on a loopback --http)")
	f.StringVar(&cfg.Group, "group", def.Group, "consumer group of the events topic")
	f.StringVar(&cfg.StartAt, "start-at", def.StartAt, "where a new consumer group starts: earliest or latest (a partition added to the topic later starts at its beginning)")
	f.StringVar(&cfg.Embedded.Addr, "embedded-addr", def.Embedded.Addr, "listen address of the embedded broker (used when --brokers is empty)")
	f.Int32Var(&cfg.Embedded.Partitions, "partitions", def.Embedded.Partitions, fmt.Sprintf("partitions of the events topic when it is created (embedded broker or missing topic; 0: the default; at most %d; an existing topic is taken as it is)", ingest.MaxPartitions))
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir, "directory of what this process keeps across restarts: the embedded broker's log (kafka/), the lake with the state snapshots (lake/), the backfill cache (cache/)")
	f.BoolVar(&ephemeral, "ephemeral", false, "keep nothing: the embedded broker in memory, a temporary lake (with the state) and backfill cache removed at exit (throw-away runs); refused with a flag that says where to keep something (--"+strings.Join(keepingFlags, ", --")+"; a mem:// lake or state and an empty --brokers keep nothing)")
	f.StringVar(&cfg.Embedded.DataDir, "embedded-data-dir", "", "keep the embedded broker's log in this directory (default: <data-dir>/kafka)")
	f.Int64Var(&cfg.Embedded.SegmentBytes, "embedded-segment-bytes", 0, fmt.Sprintf("size at which the embedded broker starts a new log segment (default: %d with --ephemeral, the broker's 100 MiB on disk)", ingest.DefaultMemorySegmentBytes))
	f.Int64Var(&cfg.Embedded.RetentionBytes, "embedded-retention-bytes", 0, "most bytes (as stored) the embedded broker keeps per partition of the events, alerts, dead-letter and undelivered topics (not the controls and control-status topics), older batches deleted as by Kafka's retention.bytes: bounds its memory with --ephemeral (events deleted before they were read are counted in hindsight_events_deleted_unread_total; 0: keep all)")
	f.BoolVar(&cfg.Embedded.SyncWrites, "embedded-sync-writes", false, "fsync each record batch and group commit the embedded broker writes to its data directory before answering, so that a power loss does not tear them (costs an fsync of the segment and its index per batch produced; default off: the operating system writes them out)")
	f.BoolVar(&cfg.Embedded.AcceptLostOffsets, "embedded-accept-lost-offsets", false, "start the embedded broker even though a partition of its data directory lost record batches it had acknowledged (a torn write after a power loss or disk fault; without it the start is refused, naming the partition and offsets): the log is cut to what is left and the lost offsets are given to new events, which the lake and live's snapshots may then take for the lost ones")
	f.BoolVar(&cfg.NoCreateTopics, "no-create-topics", false, "do not create missing topics on external brokers")
	f.DurationVar(&cfg.CommitInterval, "commit-interval", def.CommitInterval, "how often processed offsets are committed (0: the default)")
	f.IntVar(&cfg.MaxQueuedRecords, "max-queued-records", def.MaxQueuedRecords, "events taken from Kafka and not yet evaluated past which no further fetch is taken (a fetch is taken whole; 0: the default)")
	f.Int64Var(&cfg.MaxPendingProduceBytes, "max-pending-produce-bytes", def.MaxPendingProduceBytes, "bytes of alerts and dead letters produced for events and not yet acknowledged by the brokers past which no further fetch is taken (a topic not taking writes holds the consumer back, not memory; 0: the default)")
	f.Int64Var(&cfg.MaxQueuedBytes, "max-queued-bytes", def.MaxQueuedBytes, "bytes of events (keys, values and headers, each header counting its in-memory struct too) taken from Kafka and not yet evaluated past which no further fetch is taken, as --max-queued-records (0: the default)")
	// --max-poll-records bounded a poll before fetches were taken whole: kept so that
	// existing command lines still start, and ignored with a warning.
	f.Int("max-poll-records", 0, "")
	_ = f.MarkDeprecated("max-poll-records", "it is ignored: fetches are taken whole, and --max-queued-records bounds what waits for the evaluator")
	addDecompressedBatchFlag(f, &cfg.MaxDecompressedBatchBytes)
	f.Int32Var(&cfg.FetchMaxBytes, "fetch-max-bytes", def.FetchMaxBytes, "most bytes (as stored) of one fetch of events from a broker (a larger record batch still comes whole): less holds less memory, too little keeps one worker busy (0: the default)")
	f.IntVar(&cfg.AlertMaxBytes, "alert-max-bytes", def.AlertMaxBytes, "most bytes of an alert record's key and value (0: the default): a larger one leaves out its context values, the largest first, then its group values (listed in context_cut and group_cut); one still larger (a huge customer id) goes to the dead-letter topic with reason "+ingest.ReasonNotProduced)
	f.IntVar(&cfg.DeadLetterMaxBytes, "dead-letter-max-bytes", def.DeadLetterMaxBytes, "most bytes of key, value and headers of a dead letter (0: the default): a larger one keeps the start of its value (then key), with header "+ingest.HeaderOriginalBytes+" giving the size before, so that the client and broker take it")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", def.ShutdownTimeout, "bound, each apart, on the steps of a stop (and of a revocation): delivering in-flight alerts, the offset commit after it, recording undelivered the muted firings sent as their mutes ended that the stop cut short, the partitions' snapshots (one not stored: exit status 1, the partition restarting from its previous snapshot), and the embedded archiver's final flush (what it could not write stays in Kafka for the next start; exit status 1; 0: the default)")
	f.DurationVar(&cfg.AlertLinger, "alert-linger", 0, fmt.Sprintf("how long an alert may wait to be batched with others (0: sent at once; at most %v, the Kafka client's most)", ingest.MaxProduceLinger))
	f.StringVar(&cfg.LakeURL, "lake", "", "lake bucket URL, file://… or s3://… (default: <data-dir>/lake)")
	f.BoolVar(&cfg.NoArchive, "no-archive", false, "do not archive events here (run hindsight archive separately)")
	f.BoolVar(&cfg.NoBackfill, "no-backfill", false, "count new rule versions from their activation only, without history")
	f.IntVar(&cfg.BackfillConcurrency, "backfill-concurrency", def.BackfillConcurrency, "hand-off backfill jobs run at once (0: the default)")
	f.StringVar(&cfg.BackfillCacheDir, "backfill-cache-dir", "", "local cache of lake files for DuckDB (default: <data-dir>/cache; with --ephemeral a temporary directory removed at exit)")
	f.Int64Var(&cfg.BackfillCacheMaxBytes, "backfill-cache-max-bytes", backfill.DefaultCacheMaxBytes, "bytes the backfill cache may hold; the oldest files go first (0: the default)")
	f.DurationVar(&cfg.ArchiveRollAge, "archive-roll-age", archiveDefaults.RollAge, "how long the archiver keeps a file open")
	addCompressionFlag(f, &cfg.ArchiveCompression, "archive-compression")
	f.DurationVar(&cfg.ArchiveRetention, "archive-retention", 0, "drop lake files whose newest event is older than this; the history they held is read from Kafka while it still holds it (0: keep everything)")
	f.DurationVar(&cfg.ArchiveMaintainInterval, "archive-maintain-interval", archiveDefaults.CompactInterval, "how often the archiver merges small files, applies --archive-retention and deletes replaced files (negative: never, refused with an --archive-retention)")
	f.IntVar(&cfg.ArchiveMaxHourSplits, "archive-max-hour-splits", archiveDefaults.MaxHourSplits, "files the embedded archiver closes per partition and --archive-roll-age because an event of a later hour (its record timestamp) came; past it such events join the open file (0: the default; negative: no bound)")
	f.Int64Var(&cfg.ArchiveMaxBufferedBytes, "archive-max-buffered-bytes", archiveDefaults.MaxBufferedBytes, "raw JSON the embedded archiver holds in memory, and 52 bytes a row besides, and the typed values (9 bytes per typed path and row, and the typed strings); past it files close early, and while storage lags it takes no more records (its feed then drops batches, read from Kafka later; 0: the default)")
	f.IntVar(&cfg.ArchiveFeedRecords, "archive-feed-records", lakehouse.DefaultFeedRecords, "fetched records the event consumer may hand the embedded archiver ahead of its reading them; past it the archiver reads them from Kafka again (0: the default)")
	f.Int64Var(&cfg.ArchiveFeedBytes, "archive-feed-bytes", lakehouse.DefaultFeedBytes, "bytes (keys, values and headers, and the typed values noted of them) of the fetched records the event consumer may hand the embedded archiver ahead of its reading them, as --archive-feed-records (0: the default)")
	f.DurationVar(&cfg.ArchiveFeedWait, "archive-feed-wait", live.DefaultArchiveFeedWait, "how long the event consumer holds its next fetch back while the archiver's feed lacks room for another fetch like the last, so that in a backlog evaluation keeps the archiver's pace instead of having it read records again (0: the default; negative: never wait; after a wait that ran out, none until the archiver takes records again)")
	f.IntVar(&cfg.ArchiveFlushConcurrency, "archive-flush-concurrency", live.DefaultArchiveFlushConcurrency(), "files the embedded archiver encodes at once, one more while the evaluator is idle (default: one core fewer than GOMAXPROCS, at least 1)")
	addLakeColumnFlags(f, &cfg.LakeColumns, &cfg.LakeMaxColumns, "besides those the active rules read")
	f.StringVar(&cfg.StateURL, "state", "", "bucket URL where partition state snapshots are kept, under state/ (default: the lake's bucket)")
	f.StringVar(&cfg.RestoreFrom, "restore-from", "", "bucket URL of snapshots that seed partitions the state bucket has none of (a backup or a previous deployment)")
	f.DurationVar(&cfg.RestorePatience, "restore-patience", def.RestorePatience, "how long restoring a partition waits out failures of the events offsets' listing, and of the snapshot store, each (tried again meanwhile); past it the partition starts without its snapshot (the restore as a whole stays within --shutdown-timeout + 30s; a stop ends it at once; 0: the default)")
	addStorageTimeoutFlag(f, &cfg.StorageTimeout)
	f.DurationVar(&cfg.SnapshotInterval, "snapshot-interval", def.SnapshotInterval, "how often changed partition state is snapshotted (also on revoke and shutdown; 0: the default)")
	f.BoolVar(&cfg.NoSnapshots, "no-snapshots", false, "keep no durable state: partitions new to this process recount history by backfill (with --no-backfill too, their counts say they lack the history below the group's commit)")
	f.Int64Var(&cfg.MaxSnapshotBytes, "max-snapshot-bytes", live.DefaultMaxSnapshotBytes, fmt.Sprintf("most bytes of a partition snapshot's state, decompressed: a restore refuses one claiming more before allocating it, or an object longer than such a body seals to before reading it whole (skipped for an older one, as a damaged one is; with none left the partition is held, not started empty, /readyz naming the limit that restores it), and a partition whose state encodes larger stores no snapshot, the error in /v1/state (both counted in hindsight_limit_reached_total{name=\"max_snapshot_bytes\"}; 0: the default; at most, and negative, %d)", int64(live.MaxSnapshotBytesCap)))
	addGroupMemberFlags(f, &cfg.SessionTimeout, &cfg.InstanceID)
	// State of rules kept per group and window (a rule's limits field overrides them).
	addWindowLimitFlags(f, &cfg.WindowLimits, def.WindowLimits)
	addMaxCountersFlag(f, &cfg.MaxCounters, " (about 60 bytes each and the customer's id)", "no bound but 2^31")
	addMaxCustomerIDBytesFlag(f, &cfg.MaxCustomerIDBytes)
	f.IntVar(&cfg.MaxHistoryAlerts, "max-history-alerts", live.DefaultMaxHistoryAlerts, "firings of history a windowed or grouped rule with backfill.alert sends per partition when it starts; past it an event's firings are not sent, nor their resolves (the rule's history says how many: alerts_cut; negative: no bound)")
	f.IntVar(&cfg.MaxHistoryDays, "max-history-days", live.DefaultMaxHistoryDays, "days of a windowed or grouped rule's history firings its rule view lists (history.per_day), the latest; the firings of earlier days are counted in history.per_day_cut (0: the default; negative: no bound)")
	f.Int64Var(&cfg.HandoffBufferBytes, "max-handoff-buffer", live.DefaultHandoffBufferBytes, "bytes of events a windowed or grouped rule buffers per partition while its history is computed; beyond, it counts from then on without its history (shown as incomplete; 0: the default)")
	f.Int64Var(&cfg.HandoffBuffersBytes, "max-handoff-buffers", live.DefaultHandoffBuffersBytes, "bytes of events all windowed or grouped rules buffer together, over every partition, while their history is computed; a rule whose next event would pass it counts from then on without its history (shown as incomplete; 0: the default)")
	// Exposure and limits of the HTTP API (README.md, "Exposing Hindsight" and "Limits").
	f.BoolVar(&cfg.PublicRead, "public-read", false, "with --api-token, leave reads (API, /metrics, the console's data) open without the token")
	f.StringSliceVar(&cfg.AllowedHosts, "allowed-hosts", nil, "Host headers accepted besides the listener's own address and loopback names: name (any port), name:port, or * (any; disables the DNS-rebinding check)")
	f.IntVar(&cfg.HTTPMaxConnections, "http-max-connections", def.HTTPMaxConnections, "HTTP connections held at once; more wait (keep it well below the open-files limit; 0: the default)")
	f.DurationVar(&cfg.HTTPReadHeaderTimeout, "http-read-header-timeout", def.HTTPReadHeaderTimeout, "bound on reading a request's headers (0: the default)")
	f.DurationVar(&cfg.HTTPReadTimeout, "http-read-timeout", def.HTTPReadTimeout, "bound on reading a whole request (0: the default)")
	f.DurationVar(&cfg.HTTPWriteTimeout, "http-write-timeout", def.HTTPWriteTimeout, "bound on writing an answer (each write of a console stream; 0: the default)")
	f.DurationVar(&cfg.HTTPIdleTimeout, "http-idle-timeout", def.HTTPIdleTimeout, "how long a keep-alive connection may wait for its next request (0: the default)")
	f.IntVar(&cfg.HTTPMaxHeaderBytes, "http-max-header-bytes", def.HTTPMaxHeaderBytes, "largest request line and headers, in bytes (0: the default)")
	f.Int64Var(&cfg.HTTPMaxBodyBytes, "http-max-body-bytes", def.HTTPMaxBodyBytes, "largest request body, in bytes (0: the default)")
	f.IntVar(&cfg.HTTPMaxStreams, "http-max-streams", def.HTTPMaxStreams, "console live streams open at once (0: the default)")
	f.IntVar(&cfg.HTTPMaxHeavyRequests, "http-max-heavy-requests", def.HTTPMaxHeavyRequests, "rule, counts and windows listings, previews and backtests running at once (0: the default)")
	f.IntVar(&cfg.CountsPageSize, "counts-page-size", def.CountsPageSize, "customers per /v1/counts page when the request sets no limit (0: the default)")
	f.IntVar(&cfg.CountsMaxPageSize, "counts-max-page-size", def.CountsMaxPageSize, "largest limit a /v1/counts page, or a console counts listing, may ask for (0: the default)")
	f.DurationVar(&cfg.PreviewTimeout, "preview-timeout", def.PreviewTimeout, "bound on a console preview's reading of the lake (0: the default)")
	f.IntVar(&cfg.PreviewMaxScan, "preview-max-scan", def.PreviewMaxScan, "archived events one console preview may read (0: the default)")
	f.IntVar(&cfg.PreviewMaxBytes, "preview-max-bytes", def.PreviewMaxBytes, "bytes of example events one console preview may return (0: the default)")
	f.IntVar(&cfg.PreviewSample, "preview-sample", def.PreviewSample, "the lake's most recent events a console preview evaluates when the request does not say (0: the default)")
	f.IntVar(&cfg.PreviewMaxSample, "preview-max-sample", def.PreviewMaxSample, "largest sample a console preview may ask for (0: the default)")
	f.IntVar(&cfg.ConsoleRecentAlerts, "console-recent-alerts", def.ConsoleRecentAlerts, fmt.Sprintf("recent alerts the console keeps and sends every stream that opens (at most %d; 0: the default)", console.MaxRecentAlerts))
	f.IntVar(&cfg.ConsoleStreamBacklog, "console-stream-backlog", def.ConsoleStreamBacklog, fmt.Sprintf("new alerts a console stream may fall behind before it is ended and the page reconnects (at most %d; 0: the default)", console.MaxStreamBacklog))
	f.IntVar(&cfg.ConsoleTopCustomers, "console-top-customers", def.ConsoleTopCustomers, "customers per rule the console's rules list shows (at most --counts-max-page-size; 0: the default)")
	f.IntVar(&cfg.ConsoleWindowsPageSize, "console-windows-page-size", def.ConsoleWindowsPageSize, "customers per console windows page when the request sets no limit")
	f.IntVar(&cfg.ConsoleWindowsMaxPageSize, "console-windows-max-page-size", def.ConsoleWindowsMaxPageSize, "largest limit a console windows page may ask for")
	f.IntVar(&cfg.ConsoleMutesPageSize, "console-mutes-page-size", def.ConsoleMutesPageSize, "mutes per console mutes page when the request sets no limit")
	f.IntVar(&cfg.ConsoleMutesMaxPageSize, "console-mutes-max-page-size", def.ConsoleMutesMaxPageSize, "largest limit a console mutes page may ask for")
	f.DurationVar(&cfg.MaxSnapshotAge, "max-snapshot-age", def.MaxSnapshotAge, "/readyz fails when a partition's changed state has had no snapshot for longer (0: the default)")
	f.DurationVar(&cfg.MaxConsumerStall, "max-consumer-stall", def.MaxConsumerStall, "/readyz fails when an events partition has had records to read and handled none for longer (its fetches fail, or its batches stopped being handled; 0: the default)")
	f.DurationVar(&cfg.MaxProduceStall, "max-produce-stall", def.MaxProduceStall, "/readyz fails when a record produced for events (an alert, a dead letter) has waited longer for its topic (the topic refuses writes, even with a retriable error retried without end; its events' offsets stay held; 0: the default)")
	f.Int64Var(&cfg.MaxArchiveLag, "max-archive-lag", def.MaxArchiveLag, "/readyz fails when the archiver trails Kafka by more records on a partition (0: the default)")
	addLogFlags(f, &logLevel, "info")
	addGCFlag(f, &gogc)
	addMemoryLimitFlag(f, &cfg.MemoryLimit)
	addRuleLimitFlags(f, &ruleLimits)
	addBackfillMemoryFlag(f, &cfg.BackfillMemoryLimit)
	addBackfillSpillFlag(f, &cfg.BackfillMaxSpillBytes)
	addNotifyFlags(f, &cfg.Notify)
	f.BoolVar(&cfg.NoNotify, "no-notify", false, "do not deliver alerts to destinations here (run hindsight notify separately)")
	return cmd
}

// keepingFlags are the flags of `hindsight live` that say where something is kept
// beyond the process: the embedded broker's log, the lake, the state, the backfill
// cache, or the brokers that keep the events (and, without a data directory, a lake
// in the shared default place). Each contradicts --ephemeral, "keep nothing":
// --embedded-data-dir given with it kept the broker's log on disk, and a later run
// with that directory found the throw-away events.
var keepingFlags = []string{"data-dir", "embedded-data-dir", "lake", "state", "backfill-cache-dir", "brokers"}

// keepsNothing says whether a keeping flag's value keeps nothing beyond the process
// after all: an empty one (--brokers ”: the embedded broker), or a lake or state in
// memory (mem://), which --ephemeral itself uses.
func keepsNothing(name, value string) bool {
	switch {
	case value == "" || value == "[]":
		return true
	case name == "lake" || name == "state":
		return lakehouse.InProcess(value)
	}
	return false
}

// checkEphemeral refuses --ephemeral given with any of keepingFlags that keeps
// something (from the command line or the environment, which it names), rather than
// keep part of what it says it does not.
func checkEphemeral(cmd *cobra.Command) error {
	var given []string
	for _, name := range keepingFlags {
		f := cmd.Flags().Lookup(name)
		if f == nil || !f.Changed || keepsNothing(name, f.Value.String()) {
			continue
		}
		shown := "--" + name
		if env, ok := f.Annotations[fromEnvAnnotation]; ok {
			shown += " (" + env[0] + ")"
		}
		given = append(given, shown)
	}
	if len(given) > 0 {
		return usageError{fmt.Errorf("--ephemeral keeps nothing, and %s %s where to keep things beyond this process: give one or the other", strings.Join(given, ", "), map[bool]string{true: "says", false: "say"}[len(given) == 1])}
	}
	return nil
}

// addGCFlag registers --gogc: the daemon's garbage-collection target (see
// live.GCPercent).
func addGCFlag(f *pflag.FlagSet, v *int) {
	f.IntVar(v, "gogc", 0, fmt.Sprintf("GC target percentage (Go's GOGC); 0: %d, or %d with the embedded archive (its feed's batches on the heap); negative: the collector off (GOGC=off: pair it with --memory-limit); the GOGC environment variable, when set, wins",
		live.DefaultGCPercent, live.ArchiveGCPercent))
}

func setGCPercent(p int, archive bool) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	if p == 0 {
		p = live.GCPercent(archive)
	}
	debug.SetGCPercent(p)
}

// defaultDataDir is where hindsight live keeps the embedded broker's log, the lake and
// the state: the lake under it is lakehouse.DefaultLakeURL, where every command that
// reads a lake looks by default.
const defaultDataDir = "hindsight-data"

// Topic flags a command may take (addKafkaFlags): only those of the topics it uses, so
// that no command shows a flag it ignores.
type topicFlag int

const (
	topicEvents topicFlag = 1 << iota
	topicControls
	topicAlerts
	topicDeadLetters
	topicStatus
	topicUndelivered
	allTopics = topicEvents | topicControls | topicAlerts | topicDeadLetters | topicStatus | topicUndelivered
)

// addKafkaFlags registers the flags that say how to reach Kafka and, of the topics,
// those which names: defaultBrokers is the --brokers default ("" for none, for the
// commands that then run an embedded broker).
func addKafkaFlags(f *pflag.FlagSet, k *ingest.KafkaConfig, t *ingest.Topics, defaultBrokers string, which topicFlag) {
	var def []string
	usage := "Kafka seed brokers, host:port[,host:port…] (default none: this command runs an embedded broker)"
	if defaultBrokers != "" {
		def = []string{defaultBrokers}
		usage = "Kafka seed brokers, host:port[,host:port…] (the default is hindsight live's embedded broker)"
	}
	f.StringSliceVar(&k.Brokers, "brokers", def, usage)
	f.StringVar(&k.SASLMechanism, "sasl-mechanism", "", "SASL mechanism: plain, scram-sha-256 or scram-sha-512 (default none)")
	f.StringVar(&k.SASLUser, "sasl-user", "", "SASL user")
	f.StringVar(&k.SASLPassword, "sasl-password", "", "SASL password (prefer HINDSIGHT_SASL_PASSWORD)")
	f.BoolVar(&k.TLS, "tls", false, "connect to the brokers with TLS")
	f.StringVar(&k.TLSCAFile, "tls-ca", "", "PEM file of CAs to trust (implies --tls)")
	f.StringVar(&k.TLSCertFile, "tls-cert", "", "PEM client certificate (implies --tls)")
	f.StringVar(&k.TLSKeyFile, "tls-key", "", "PEM client key (implies --tls)")
	f.StringVar(&k.TLSServerName, "tls-server-name", "", "server name to verify in the brokers' certificates")
	f.BoolVar(&k.TLSInsecureSkipVerify, "tls-insecure-skip-verify", false, "do not verify the brokers' certificates (testing only)")
	for _, tf := range []struct {
		flag        topicFlag
		dst         *string
		name, def   string
		description string
	}{
		{topicEvents, &t.Events, "topic-events", "events", "events topic"},
		{topicControls, &t.Controls, "topic-controls", "controls", "controls (rules, destinations, mutes) topic"},
		{topicAlerts, &t.Alerts, "topic-alerts", "alerts", "alerts topic"},
		{topicDeadLetters, &t.DeadLetters, "topic-dlq", "events.dlq", "dead-letter topic"},
		{topicStatus, &t.ControlStatus, "topic-status", "controls.status", "control-status topic"},
		{topicUndelivered, &t.Undelivered, "topic-undelivered", "alerts.undelivered", "topic of the alerts the notify stage gave up delivering"},
	} {
		if which&tf.flag != 0 {
			f.StringVar(tf.dst, tf.name, tf.def, tf.description)
		}
	}
}

// addGroupMemberFlags registers how a consumer group member (the live daemon, the
// archiver) is moved on when it crashes: both stages take the same two flags.
func addGroupMemberFlags(f *pflag.FlagSet, sessionTimeout *time.Duration, instanceID *string) {
	f.DurationVar(sessionTimeout, "session-timeout", 0, fmt.Sprintf("how long the group waits for a crashed member before moving its partitions (at least %v, at most %v, the Kafka client's bounds; 0: its default, 45s; the broker bounds it too)", lakehouse.MinSessionTimeout, lakehouse.MaxSessionTimeout))
	f.StringVar(instanceID, "instance-id", "", "static group membership id: restarted with the same id, this process takes its partitions back at once")
}

// envName is the environment variable that sets a flag: HINDSIGHT_ + the flag's name in
// upper case with '-' as '_'.
func envName(flag string) string {
	return "HINDSIGHT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag of cmd not given on the command line from its environment
// variable, if that is set, and marks it given (Changed), as the command line would:
// what a command decides from a flag being given holds for the environment too. The
// command line wins.
func applyEnv(cmd *cobra.Command) error {
	var errs []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok {
			return
		}
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
			// An empty variable is an empty list, as --brokers '' is, not one empty item.
			items := []string{}
			if v != "" {
				items = strings.Split(v, ",")
			}
			if err := sv.Replace(items); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", envName(f.Name), v, err))
			} else if err := negativeFlag(f, envName(f.Name)); err != nil {
				errs = append(errs, err.Error())
			}
			markFromEnv(f)
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", envName(f.Name), v, err))
		} else if err := negativeFlag(f, envName(f.Name)); err != nil {
			errs = append(errs, err.Error())
		}
		markFromEnv(f)
	})
	if len(errs) > 0 {
		return fmt.Errorf("invalid environment: %s", strings.Join(errs, "; "))
	}
	return nil
}

// fromEnvAnnotation marks a flag applyEnv set, with the variable's name: a refusal
// names what the user set.
const fromEnvAnnotation = "hindsight-from-env"

// markFromEnv marks f set, from its environment variable.
func markFromEnv(f *pflag.Flag) {
	f.Changed = true
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[fromEnvAnnotation] = []string{envName(f.Name)}
}

// envLogger returns the logger cmd's --log-level and --log-format ask for, from the
// command line or the environment (badCommandLinesAreUsage applies it before any
// command runs).
func envLogger(cmd *cobra.Command, level string) (*slog.Logger, error) {
	format := "text"
	if f := cmd.Flags().Lookup("log-format"); f != nil {
		format = f.Value.String()
	}
	logger, err := newLogger(level, format)
	if err != nil {
		return nil, usageError{err}
	}
	return logger, nil
}

// addLogFlags registers --log-level (default defaultLevel) and --log-format on f, into
// level: every command that logs takes both.
func addLogFlags(f *pflag.FlagSet, level *string, defaultLevel string) {
	f.StringVar(level, "log-level", defaultLevel, "log level: debug, info, warn or error")
	f.String("log-format", "text", "log format: text (logfmt) or json")
}

// quietLogger is the logger the commands that do not log (README: all but live,
// notify, archive, lake and bench) give the stages they call: they print their results
// and errors, not log lines, and what a stage logs as it goes (a cache trimmed, a
// request retried, a lake file read from Kafka instead) their results or errors say
// where it matters. A stage left without one logs to slog.Default, Go's own format on
// stderr, among the results.
var quietLogger = slog.New(slog.DiscardHandler)

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

// defaultsOf is a zero T with its EnsureDefaults applied: the defaults the flags that
// set T's fields show, so that each is defined once, by T's package.
func defaultsOf[T any, P interface {
	*T
	EnsureDefaults()
}]() T {
	var c T
	P(&c).EnsureDefaults()
	return c
}

// archiveDefaults are the defaults the archiver applies, for the flags that set them.
var archiveDefaults = defaultsOf[lakehouse.ArchiverConfig]()

// addMaxCountersFlag registers --max-counters, the bound on running totals, writing
// into p: live's for a partition's store, backtest's and rules test's for their
// replay's, which must be given live's to reach live's verdict. cost says what a
// counter costs, and negative what a negative value means, where they differ.
func addMaxCountersFlag(f *pflag.FlagSet, p *int, cost, negative string) {
	f.IntVar(p, "max-counters", window.DefaultMaxCounters, "most running totals, (customer, plain rule) counters, one partition keeps"+cost+
		"; a match needing a new one beyond is not counted and the rule is degraded (0: the default; negative: "+negative+")")
}

// addMaxCustomerIDBytesFlag registers --max-customer-ids-bytes, the bound on the
// bytes of running totals' customer ids, writing into p: live's for a partition's
// store, backtest's and rules test's for their replay's, which counts them as live's
// store does and must be given live's to reach live's verdict.
func addMaxCustomerIDBytesFlag(f *pflag.FlagSet, p *int64) {
	f.Int64Var(p, "max-customer-ids-bytes", window.DefaultMaxCustomerIDBytes, "bytes of customer ids one partition's running totals hold, as --max-counters their number, in pages of 64 KiB (from 65,536 to 4 GiB less one byte; negative: that)")
}

// addWindowLimitFlags registers the limits of windowed and grouped rules' state, which
// live and backtest share.
func addWindowLimitFlags(f *pflag.FlagSet, l *window.Limits, def window.Limits) {
	f.Int64Var(&l.MaxGroups, "max-groups", def.MaxGroups, "most open groups a windowed or grouped rule keeps per partition; beyond, the rule is degraded (0: the default)")
	f.Int64Var(&l.MaxDistinct, "max-distinct", def.MaxDistinct, "most distinct values one count_distinct window keeps; beyond, the rule is degraded (0: the default)")
	f.Int64Var(&l.MaxKeyBytes, "max-key-bytes", def.MaxKeyBytes, "longest group key (a windowed or grouped rule's group_by values) or count_distinct value kept, in bytes; an event whose key is longer is not counted, and the rule is degraded (0: the default)")
}
