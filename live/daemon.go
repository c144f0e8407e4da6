package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hindsightdev/hindsight/internal/httpguard"

	"golang.org/x/sync/errgroup"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/memlimit"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/notify"
)

// Daemon is a running live evaluator.
type Daemon struct {
	cfg      Config
	log      *slog.Logger
	embedded *ingest.Embedded
	ln       net.Listener
	srv      *http.Server
	im       *ingest.Metrics
	m        *metrics
	rules    *controls.Registry
	controls *ingest.ControlReader
	// notify delivers alerts to destinations (nil with NoNotify).
	notify *notify.Stage
	// feed hands the event consumer's fetches to the embedded archiver (nil with
	// NoArchive).
	feed   *lakehouse.Feed
	active atomic.Pointer[activeSet]
	// columns are the paths the embedded archiver types; the controls goroutine
	// (publishRules) alone changes them.
	columns *typedColumns

	// bf runs hand-off backfills (nil with NoBackfill); lake is what it reads.
	// alertProducer sends the alerts raised outside an events batch: those history
	// raises, and the resolved records of versions that end (partition.endIncidents).
	bf            *backfiller
	bfCancel      context.CancelFunc
	lake          *lakehouse.Lake
	tempLake      string // removed at exit
	tempCache     string // the backfill cache made for a daemon without DataDir, removed at exit
	alertProducer *kgo.Client
	// reroute keeps in the dead-letter topic, through alertProducer, the alerts raised
	// outside a batch that the brokers refuse for good; a dead letter it holds is its
	// partition's (partition.held), given up when the partition goes.
	reroute *ingest.Rerouter
	// handoffBuffered is the bytes every hand-off buffer holds together (at most
	// Config.HandoffBuffersBytes).
	handoffBuffered atomic.Int64

	// state is where partition snapshots are stored and restored from (nil with
	// NoSnapshots); restoreFrom, when set, seeds partitions state has no snapshot of.
	state, restoreFrom *stateStore
	consumer           atomic.Pointer[ingest.EventConsumer]
	// stopSnapErrs are the snapshots the stop could not store (a revoke's as the
	// consumer leaves the group, or the shutdown's), by partition, under stopSnapMu:
	// the stop ends with them (ErrFinalSnapshot).
	stopSnapMu   sync.Mutex
	stopSnapErrs map[int32]error

	// loaded and unkept are only touched by the controls goroutine. unkept are, by
	// record key, the controls not applied that the replay at start left the newest
	// of their key (see keep).
	loaded bool
	unkept map[string]unkeptRecord
	// folded is one more than the offset of the last control folded (0: none yet), for
	// the rule sets published (activeSet.controls); the controls goroutine's too.
	folded int64
	// rejectedDropped, endedDropped, endedMutesDropped and retiredDropped are the
	// registry's RejectedDropped, EndedDropped, EndedMutesDropped and RetiredDropped as
	// last counted in hindsight_limit_reached_total.
	rejectedDropped   int64
	endedDropped      int64
	endedMutesDropped int64
	retiredDropped    int64
	rulesLoaded       chan struct{}
	// groupCommitted is set once the group is known to have committed offsets of the
	// events topic: it is no longer new (startPositions).
	groupCommitted atomic.Bool
	consuming      atomic.Bool
	// restoreWait is what a restore waits for meanwhile (nil: nothing), for /readyz.
	restoreWait atomic.Pointer[restoreWait]
	// runCtx ends when the daemon stops; set by run before the consumer starts. The
	// consumer's callbacks (a restore, in Assigned) take no context of their own.
	runCtx context.Context

	partsMu sync.RWMutex
	parts   map[int32]*partition

	// mem keeps the process under Config.MemoryLimit; nil without one.
	mem *memlimit.Governor

	eventsSeen   atomic.Int64
	alertsRaised atomic.Int64
	// lastCutShortLog is when evalCutShort last logged (Unix ns).
	lastCutShortLog atomic.Int64
	// lastRefusedLog is when counterRefused last logged (Unix ns).
	lastRefusedLog atomic.Int64
	// batchesRunning counts HandleBatch calls in progress; lastBatch is when one last
	// ended, in nanoseconds since born: evaluatorIdle's figures.
	batchesRunning atomic.Int32
	lastBatch      atomic.Int64
	born           time.Time

	done chan struct{}
	err  error
}

// Run runs the daemon until ctx is done, then shuts down cleanly and returns nil; it
// returns an error only if the daemon could not start or failed, or if its archiver
// could not write what it held when it stopped (lakehouse.ErrFinalFlush).
func Run(ctx context.Context, cfg Config) error {
	d, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	return d.Wait()
}

// Start starts the daemon in the background and returns once its broker (if embedded)
// and HTTP listener are up. It stops when ctx is done; Wait returns then.
func Start(ctx context.Context, cfg Config) (_ *Daemon, err error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, rulesLoaded: make(chan struct{}), parts: map[int32]*partition{}, done: make(chan struct{}), born: time.Now()}
	if !cfg.NoArchive {
		// d.m exists before the consumer, the only caller, starts.
		d.feed = lakehouse.NewFeed(cfg.ArchiveFeedRecords, cfg.ArchiveFeedBytes, func(limit string) { d.m.limits.Reached(limit) })
	}
	defer func() {
		if err != nil {
			d.closeResources()
		}
	}()
	if len(cfg.Kafka.Brokers) == 0 {
		ec := cfg.Embedded
		ec.Logger = d.log.With("stage", "broker")
		e, err := ingest.StartEmbedded(ec)
		if err != nil {
			return nil, fmt.Errorf("live: %w", err)
		}
		d.embedded = e
		d.cfg.Kafka.Brokers = []string{e.Addr}
		// The broker's count: an events topic kept in the data directory keeps its own.
		parts := e.Partitions(cfg.Topics.Events)
		d.log.Info("embedded broker listening", "addr", e.Addr, "events_partitions", parts, "topics", cfg.Topics.All())
		if parts != cfg.Embedded.Partitions {
			d.log.Warn("the events topic kept in the data directory has another partition count than --partitions, which sets the count of a topic the broker creates and does not change an existing one: the daemon reads the topic's",
				"events_partitions", parts, "partitions_flag", cfg.Embedded.Partitions, "data_dir", cfg.Embedded.DataDir)
		}
	} else if !cfg.NoCreateTopics {
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		if err := ingest.EnsureTopics(tctx, d.cfg.Kafka, cfg.Topics, cfg.Embedded.Partitions); err != nil {
			d.log.Warn("could not create missing topics; continuing with what exists", "err", err)
		}
		cancel()
	} else {
		// The events consumer waits for a topic the brokers call unknown rather than
		// drop what it produces there, so a topic left missing is told of here.
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		missing, err := ingest.MissingTopics(tctx, d.cfg.Kafka, cfg.Topics)
		cancel()
		if err != nil {
			d.log.Warn("could not check that the topics exist", "err", err)
		}
		if len(missing) > 0 {
			d.log.Error("topics missing, and --no-create-topics leaves them so: alerts and dead letters for them wait in memory, their events' offsets held, until the topics are created (past --max-pending-produce-bytes no further events are read)",
				"topics", missing)
		}
	}
	d.im = ingest.NewMetrics(cfg.Registry)
	d.m = newMetrics(cfg.Registry)
	if e := d.embedded; e != nil {
		for _, kind := range []string{ingest.StorageCorrupt, ingest.StorageWriteFailed} {
			d.cfg.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "hindsight_embedded_broker_storage_errors_total", ConstLabels: prometheus.Labels{"kind": kind},
				Help: "Corrupt data the embedded broker found in its data directory and dropped, logged as an error (kind corrupt: the records from there on are lost), or torn writes repaired before it started, logged as a warning (kind corrupt too: a torn log entry cut off, a torn index rebuilt, lost offsets accepted); and writes to it that failed, logged as an error (kind write_failed).",
			}, func() float64 { return float64(e.StorageErrors(kind)) }))
		}
	}
	d.rules = controls.NewRegistry()
	rules := d.rules
	d.cfg.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hindsight_ended_versions_held", Help: "Ended rule versions remembered so that a restored partition resolves their incidents (at most --max-ended-versions per rule).",
		}, func() float64 { n, _ := rules.EndedHeld(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hindsight_rules_json_bytes", Help: "Bytes of compact JSON the active rules hold together (at most hindsight_limit{name=\"max_rules_bytes\"}; each compiles to about ten times that).",
		}, func() float64 { return float64(rules.ActiveBytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hindsight_handoff_buffered_bytes", Help: "Bytes of events the windowed or grouped rule versions whose history is being computed buffer together (at most hindsight_limit{name=\"max_handoff_buffers_bytes\"}).",
		}, func() float64 { return float64(d.handoffBuffered.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hindsight_ended_versions_bytes", Help: "Bytes of the rules' JSON (deflated) the ended rule versions remembered hold; each is compiled again when a restore needs it.",
		}, func() float64 { _, b := rules.EndedHeld(); return float64(b) }))
	if !cfg.NoNotify {
		nc := cfg.Notify
		// The daemon's brokers (the embedded one's address is known only now), fold and
		// metrics: the stage reads no controls of its own.
		nc.Kafka, nc.Topics, nc.Logger, nc.Registerer, nc.Limits = d.cfg.Kafka, d.cfg.Topics, d.log, cfg.Registry, d.m.limits
		nc.Registry, nc.Loaded = d.rules, d.rulesLoaded
		// Its group is another group: after a kill -9 it must come back as fast.
		nc.SessionTimeout = cfg.SessionTimeout
		// A stop's step as the others are: the re-sends it cut short recorded undelivered.
		nc.ShutdownTimeout = cfg.ShutdownTimeout
		if cfg.InstanceID != "" {
			nc.InstanceID = cfg.InstanceID + "-notify"
		}
		if d.notify, err = notify.New(nc); err != nil {
			return nil, fmt.Errorf("live: %w", err)
		}
	}
	if d.mem, err = d.newMemoryGovernor(); err != nil {
		return nil, err
	}
	d.columns = newTypedColumns(cfg.LakeColumns, cfg.LakeMaxColumns)
	d.m.limits.ShowCounted(limitLakeColumns, float64(max(cfg.LakeMaxColumns, 0)))
	if d.embedded != nil {
		d.m.limits.Show(limitEmbeddedRetention, float64(cfg.Embedded.RetentionBytes))
	}
	d.m.limits.ShowCounted(limitBackfillCache, float64(d.cfg.BackfillCacheMaxBytes))
	d.storage(d.log).ShowLimit()
	if d.feed != nil {
		// Shown before the archiver starts, which shows them again.
		ac := d.archiverConfig()
		ac.EnsureDefaults()
		ac.ShowLimits(d.m.limits)
		d.m.limits.ShowCounted(limitFeedRecords, float64(cfg.ArchiveFeedRecords))
		d.m.limits.ShowCounted(limitFeedBytes, float64(cfg.ArchiveFeedBytes))
		d.m.limits.Show(limitFeedWait, max(cfg.ArchiveFeedWait, 0).Seconds())
	}
	s, err := newActiveSet(nil)
	if err != nil {
		return nil, err
	}
	d.active.Store(s)

	d.ln, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("live: HTTP listener: %w", err)
	}
	d.srv = &http.Server{Handler: d.routes(), ReadHeaderTimeout: 10 * time.Second}
	d.log.Info("http listening", "addr", d.ln.Addr().String())

	if d.cfg.LakeURL == "" {
		if d.embedded != nil {
			dir, err := os.MkdirTemp("", "hindsight-lake-")
			if err != nil {
				return nil, fmt.Errorf("live: temporary lake: %w", err)
			}
			d.tempLake = dir
			d.cfg.LakeURL = "file://" + dir
		} else {
			d.cfg.LakeURL = lakehouse.DefaultLakeURL
		}
		d.log.Info("lake", "url", d.cfg.LakeURL)
	}
	if err := d.openState(ctx); err != nil {
		return nil, err
	}
	if !cfg.NoBackfill {
		if d.cfg.BackfillCacheDir == "" {
			// Without DataDir the cache would default to a fixed directory under the temp
			// dir that nothing removes: copies of lake files that outlive this process
			// and its lake, piling up run after run. Its own directory goes at exit.
			dir, err := os.MkdirTemp("", "hindsight-backfill-cache-")
			if err != nil {
				return nil, fmt.Errorf("live: temporary backfill cache: %w", err)
			}
			d.tempCache = dir
			d.cfg.BackfillCacheDir = dir
		}
		bctx, cancel := context.WithCancel(context.Background())
		d.bfCancel = cancel
		d.bf, d.lake, err = newBackfiller(bctx, d.cfg, d.storage(d.log), func(backfill.Eviction) { d.m.limits.Reached(limitBackfillCache) })
		if err != nil {
			return nil, err
		}
		d.runWorkers(d.cfg.BackfillConcurrency)
		queue := d.bf.queue
		d.cfg.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hindsight_backfills_queued", Help: "Hand-off backfill jobs waiting for a worker (served round-robin by rule scope).",
		}, func() float64 { return float64(queue.len()) }))
	}
	// A record for a topic the brokers call unknown is held, as the events consumer's
	// client holds it (ingest.NewEventConsumer): franz-go's default gives it up after 4
	// tries, and a hand-off alert met by a brief UNKNOWN_TOPIC_OR_PARTITION (metadata
	// lagging a reassignment) went to the dead-letter topic where a live alert was
	// retried until it landed. A topic missing for good is reported at start
	// (ingest.EnsureTopics); at shutdown what is held is flushed for ShutdownTimeout.
	if d.alertProducer, err = d.cfg.Kafka.NewClient(kgo.ProducerLinger(0), kgo.UnknownTopicRetries(-1),
		kgo.WithHooks(d.im.Waits)); err != nil {
		return nil, fmt.Errorf("live: alert producer: %w", err)
	}
	d.reroute = ingest.NewRerouter(d.alertProducer, cfg.Topics.DeadLetters, cfg.DeadLetterMaxBytes,
		func() { d.m.limits.Reached(limitDeadLetterBytes) }, d.im, d.log)

	d.controls, err = ingest.NewControlReader(ingest.ControlsConfig{Kafka: d.cfg.Kafka, Topics: cfg.Topics, Logger: d.log, Metrics: d.im})
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	go d.run(ctx)
	return d, nil
}

func (d *Daemon) closeResources() {
	if d.bfCancel != nil {
		d.bfCancel()
		d.bf.stop()
	}
	if d.alertProducer != nil {
		fctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
		_ = d.reroute.Flush(fctx)
		cancel()
		cctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
		ingest.CloseClient(cctx, d.alertProducer, false)
		cancel()
	}
	if d.lake != nil {
		d.lake.Close()
	}
	for _, s := range []*stateStore{d.state, d.restoreFrom} {
		if s != nil {
			s.bkt.Close()
		}
	}
	if d.tempLake != "" {
		os.RemoveAll(d.tempLake)
	}
	if d.tempCache != "" {
		os.RemoveAll(d.tempCache) // the backfill workers stopped above
	}
	if d.ln != nil {
		d.ln.Close()
	}
	if d.controls != nil {
		d.controls.Close()
	}
	if d.embedded != nil {
		d.embedded.Close()
	}
}

func (d *Daemon) run(ctx context.Context) {
	g, gctx := errgroup.WithContext(ctx)
	d.runCtx = gctx
	consumerDone := make(chan struct{})
	g.Go(func() error {
		if err := d.srv.Serve(d.ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("live: HTTP server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		// Keep /healthz and /metrics up while the consumer drains.
		select {
		case <-consumerDone:
		case <-gctx.Done():
			<-consumerDone
		}
		// A client still sending or reading past the grace has its connection closed:
		// it neither holds the process nor makes its stop an error.
		return httpguard.Stop(d.srv, d.log)
	})
	g.Go(func() error {
		return d.controls.Run(gctx, d.applyControls, d.onRulesLoaded)
	})
	if !d.cfg.NoArchive {
		g.Go(func() error {
			kopts, err := d.cfg.Kafka.Opts()
			if err != nil {
				return err
			}
			ac := d.archiverConfig()
			ac.KafkaOpts = kopts
			err = lakehouse.RunArchiver(gctx, ac)
			switch {
			case err == nil:
				return nil
			case gctx.Err() != nil && errors.Is(err, context.Canceled):
				return nil // stopped while it was starting: it held nothing
			case errors.Is(err, lakehouse.ErrFinalFlush):
				// Storage refused what the archiver held when the daemon stopped. The
				// stop says so, as hindsight archive's does, in the log and the exit
				// status: exiting 0 told an operator the lake had every event read.
				d.log.Error("the archiver's final flush failed within --shutdown-timeout: events read since its last upload are not in the lake; nothing is lost: they stay in Kafka, and the next start archives them",
					"shutdown_timeout", ac.ShutdownTimeout, "err", err)
			}
			return fmt.Errorf("live: archiver: %w", err)
		})
	}
	g.Go(func() error {
		defer close(consumerDone)
		select {
		case <-d.rulesLoaded:
		case <-gctx.Done():
			return nil
		}
		c, err := ingest.NewEventConsumer(ingest.EventsConfig{
			Kafka: d.cfg.Kafka, Topics: d.cfg.Topics, Group: d.cfg.Group, StartAt: d.cfg.StartAt,
			CommitInterval: d.cfg.CommitInterval, ShutdownTimeout: d.cfg.ShutdownTimeout, MaxQueuedRecords: d.cfg.MaxQueuedRecords,
			MaxQueuedBytes: d.cfg.MaxQueuedBytes, MaxPendingProduceBytes: d.cfg.MaxPendingProduceBytes, MaxDecompressedBatchBytes: d.cfg.MaxDecompressedBatchBytes,
			OnBatchTooLarge: func(int32, int64) { d.m.limits.Reached(limitDecompressedBatch) }, FetchMaxBytes: d.cfg.FetchMaxBytes, SessionTimeout: d.cfg.SessionTimeout, InstanceID: d.cfg.InstanceID,
			ProduceLinger: d.cfg.AlertLinger, Logger: d.log, Metrics: d.im, Tap: d.tap(), LagInterval: d.cfg.ConsumerLagInterval,
			OnQueueFull:        func(limit string) { d.m.limits.Reached(limit) },
			DeadLetterMaxBytes: d.cfg.DeadLetterMaxBytes,
			OnDeadLetterCut:    func() { d.m.limits.Reached(limitDeadLetterBytes) },
		}, d)
		if err != nil {
			return fmt.Errorf("live: %w", err)
		}
		d.consumer.Store(c)
		d.consuming.Store(true)
		d.log.Info("consuming events", "topic", d.cfg.Topics.Events, "group", d.cfg.Group)
		err = c.Run(gctx)
		// Leaving the group revoked and snapshotted every partition; any still here (the
		// consumer failed) are saved now that everything produced was flushed.
		d.consumer.Store(nil)
		sctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
		defer cancel()
		for _, p := range d.ownedPartitions() {
			d.stopSnapshotFailed(p.id, d.snapshotPartition(sctx, p, "shutdown", true))
		}
		return errors.Join(err, d.finalSnapshotErr())
	})
	if d.state != nil {
		g.Go(func() error { return d.snapshotLoop(gctx) })
	}
	if d.mem != nil {
		g.Go(func() error {
			if err := d.mem.Run(gctx); err != nil {
				return fmt.Errorf("live: memory limit: %w", err)
			}
			return nil
		})
	}
	if d.notify != nil {
		g.Go(func() error {
			if err := d.notify.Run(gctx); err != nil && gctx.Err() == nil {
				return fmt.Errorf("live: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastT := d.eventsSeen.Load(), time.Now()
		for {
			select {
			case <-gctx.Done():
				return nil
			case now := <-t.C:
				n := d.eventsSeen.Load()
				d.m.rate.Set(float64(n-last) / now.Sub(lastT).Seconds())
				last, lastT = n, now
			}
		}
	})
	err := g.Wait()
	d.closeResources()
	if err != nil {
		d.log.Error("live daemon stopped", "err", err)
	} else {
		d.log.Info("live daemon stopped", "events", d.eventsSeen.Load(), "alerts", d.alertsRaised.Load())
	}
	d.err = err
	close(d.done)
}

// Wait blocks until the daemon has stopped and returns why (nil after a clean shutdown).
func (d *Daemon) Wait() error {
	<-d.done
	return d.err
}

// Done is closed when the daemon has stopped.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// HTTPAddr is the address the HTTP API listens on.
func (d *Daemon) HTTPAddr() string { return d.ln.Addr().String() }

// Brokers are the brokers in use (the embedded broker's address when embedded).
func (d *Daemon) Brokers() []string { return slices.Clone(d.cfg.Kafka.Brokers) }

// RulesLoaded is closed once every control that existed at start was applied; events
// are consumed only after that.
func (d *Daemon) RulesLoaded() <-chan struct{} { return d.rulesLoaded }

// EventsSeen is the number of event records handled (valid or dead-lettered).
func (d *Daemon) EventsSeen() int64 { return d.eventsSeen.Load() }

// AlertsRaised is the number of alerts raised: firing records, threshold crossings;
// resolved records are not alerts raised (hindsight_alerts_resolved_total counts them).
func (d *Daemon) AlertsRaised() int64 { return d.alertsRaised.Load() }

// DeadLetters is the number of event records sent to the dead-letter topic.
func (d *Daemon) DeadLetters() int64 { return d.im.DeadLettersTotal() }

// limitFeedRecords and limitFeedBytes are --archive-feed-records and
// --archive-feed-bytes: a batch past either is dropped from the archiver's feed
// (hindsight_lake_feed_dropped_records_total), and the archiver reads it from Kafka
// itself.
const (
	limitFeedRecords = lakehouse.FeedLimitRecords
	limitFeedBytes   = lakehouse.FeedLimitBytes
)

// limitEmbeddedRetention is --embedded-retention-bytes (0: keep all), shown only
// with the embedded broker. What it deleted before the daemon read it shows as
// hindsight_events_deleted_unread_total.
const limitEmbeddedRetention = "embedded_retention_bytes"

// limitFeedWait is --archive-feed-wait, in seconds: how long the consumer holds its
// next fetch back for room in the feed. Its reaching shows as
// hindsight_lake_feed_wait_seconds_total.
const limitFeedWait = "archive_feed_wait_seconds"

// limitQueuedRecords and limitQueuedBytes are --max-queued-records and
// --max-queued-bytes: past either the consumer takes no further fetch until the
// workers catch up; each such wait counts as the limit reached.
const (
	limitQueuedRecords = ingest.QueueLimitRecords
	limitQueuedBytes   = ingest.QueueLimitBytes
	// limitPendingProduce is --max-pending-produce-bytes, alike.
	limitPendingProduce = ingest.QueueLimitPendingProduce
	// limitDecompressedBatch is --max-decompressed-batch-bytes: each partition
	// stopped at a batch past it counts as the limit reached.
	limitDecompressedBatch = ingest.LimitDecompressedBatch
)

// limitDeadLetterBytes is --dead-letter-max-bytes: each dead letter cut to fit counts
// as the limit reached.
const limitDeadLetterBytes = "dead_letter_max_bytes"

// limitAlertBytes is --alert-max-bytes: each alert cut to fit, or dead-lettered for
// want of room, counts as the limit reached.
const limitAlertBytes = "alert_max_bytes"

// storage is how the daemon reaches its buckets (the lake, the snapshots): requests
// bounded by StorageTimeout, the abandoned ones counted in its limits and logged to log.
func (d *Daemon) storage(log *slog.Logger) lakehouse.StorageConfig {
	return lakehouse.StorageConfig{Timeout: d.cfg.StorageTimeout, Limits: d.m.limits, Logger: log}
}

// archiverConfig is the embedded archiver's configuration, but for its Kafka client
// options (whose building can fail: Run adds them).
func (d *Daemon) archiverConfig() lakehouse.ArchiverConfig {
	return lakehouse.ArchiverConfig{
		Brokers: d.cfg.Kafka.Brokers, Topic: d.cfg.Topics.Events, BucketURL: d.cfg.LakeURL, StorageTimeout: d.cfg.StorageTimeout,
		Feed: d.feed, FlushConcurrency: d.cfg.ArchiveFlushConcurrency, SpareCore: d.spareCore,
		RollAge: d.cfg.ArchiveRollAge, LagInterval: d.cfg.ArchiveLagInterval, MaxBufferedBytes: d.cfg.ArchiveMaxBufferedBytes, MaxHourSplits: d.cfg.ArchiveMaxHourSplits, Compression: d.cfg.ArchiveCompression,
		Retention: d.cfg.ArchiveRetention, CompactInterval: d.cfg.ArchiveMaintainInterval, Columns: d.columns.set,
		Registerer: d.cfg.Registry, Limits: d.m.limits, Logger: d.log.With("stage", "archive"),
		// Its own reads of the events topic (catching up where the feed dropped
		// batches) stop at a batch the event consumer stops at, not past it.
		MaxDecompressedBatchBytes: d.cfg.MaxDecompressedBatchBytes,
		// Its final flush is part of the daemon's stop, which --shutdown-timeout bounds:
		// left to its own 30 s, a stop with storage down outlasted a bound set to fit an
		// orchestrator's grace period.
		ShutdownTimeout: d.cfg.ShutdownTimeout,
	}
}

// tap is the consumer's tap: the archiver's feed, or none.
func (d *Daemon) tap() ingest.RecordTap {
	if d.feed == nil {
		return nil // not a typed nil in the interface
	}
	if d.cfg.ArchiveFeedWait < 0 {
		return feedTap{d.feed}
	}
	return pacedFeedTap{feedTap{d.feed}, d.cfg.ArchiveFeedWait}
}

// feedTap is the archiver's feed as the consumer's tap: the consumer notes in each
// batch it hands over the verdicts and typed values it reads while evaluating, which
// the archiver then need not parse for.
type feedTap struct{ *lakehouse.Feed }

func (t feedTap) Fetched(p int32, from, logStart int64, recs []*kgo.Record) ingest.BatchTap {
	if from == ingest.FromLogStart {
		from = lakehouse.FromLogStart
	}
	if b := t.Feed.Fetched(p, from, logStart, recs); b != nil {
		return b
	}
	return nil // dropped: not a typed nil in the interface
}

// pacedFeedTap is feedTap that holds the consumer's fetches back while the feed is
// without room for another poll like the last, for at most patience
// (Config.ArchiveFeedWait).
type pacedFeedTap struct {
	feedTap
	patience time.Duration
}

func (t pacedFeedTap) WaitRoom(ctx context.Context) { t.Feed.WaitRoom(ctx, t.patience) }
