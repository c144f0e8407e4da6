package lakehouse

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the archiver's Prometheus collectors (namespace hindsight_lake).
type metrics struct {
	records         prometheus.Counter
	read            prometheus.Counter
	parsed          prometheus.Counter
	duplicates      prometheus.Counter
	invalidUTF8     prometheus.Counter
	timeOutOfRange  prometheus.Counter
	refused         *prometheus.CounterVec
	files           prometheus.Counter
	bytes           prometheus.Counter
	rawBytes        prometheus.Counter
	commits         prometheus.Counter
	conflicts       prometheus.Counter
	rejected        prometheus.Counter
	storageErrors   *prometheus.CounterVec
	corrupt         prometheus.Counter
	offsetCommitErr prometheus.Counter
	compacted       prometheus.Counter
	expired         prometheus.Counter
	retentionHeld   prometheus.Gauge
	deleted         prometheus.Counter
	watermark       *prometheus.GaugeVec
	lag             *prometheus.GaugeVec
	// deletedUnarchived counts, per partition, offsets the broker deleted before they
	// were archived, as the files of this archiver that list them commit (afterCommit):
	// found (appendLocked), they may yet go to another writer's file or the next run.
	deletedUnarchived *prometheus.CounterVec
	// archiveLagOffsets and archiveLagSeconds cover every partition of the topic (see
	// lagLoop); readiness checks use them.
	archiveLagOffsets *prometheus.GaugeVec
	archiveLagSeconds *prometheus.GaugeVec
	buffered          prometheus.Gauge
	manifestVer       prometheus.Gauge
	flushSeconds      prometheus.Histogram
	// catchUps and catchUpParts: a fed archiver's own reading of partitions (feedLoop).
	catchUps     prometheus.Counter
	catchUpParts prometheus.Gauge
	// spareEncodes counts files encoded beyond FlushConcurrency (ArchiverConfig.SpareCore).
	spareEncodes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, feed *Feed) (*metrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hindsight", Subsystem: "lake", Name: name, Help: help})
	}
	m := &metrics{
		records:         c("records_archived_total", "Records committed to the lake."),
		read:            c("records_read_total", "Records read from Kafka for the first time (archived, buffered or refused; not the re-reads counted as duplicates): what the archiver has taken in."),
		parsed:          c("records_parsed_total", "Records the archiver parsed itself: those it read from Kafka, and those the live consumer handed over without its verdict and typed values (a handler stopped before them, or the typed paths changed in between)."),
		duplicates:      c("records_duplicate_total", "Records consumed again at or below the watermark and dropped."),
		invalidUTF8:     c("records_invalid_utf8_total", "Records whose value was not UTF-8 and was archived with U+FFFD substitutes (rows of older files rewritten by compaction; the archiver refuses such records)."),
		timeOutOfRange:  c("records_time_out_of_range_total", "Records stamped outside the years 0000 to 9999 (a producer's clock or unit), archived with their time at the nearest bound: their event_time column and their file's hour and times say 0000-01-01T00:00:00Z or 9999-12-31T23:59:59.999999Z."),
		refused:         prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hindsight", Subsystem: "lake", Name: "records_refused_total", Help: "Records not archived because the live stage dead-letters them, by dead-letter reason; their offsets are covered by the files around them."}, []string{"reason"}),
		files:           c("files_committed_total", "Data files committed."),
		bytes:           c("bytes_committed_total", "Bytes of Parquet committed."),
		rawBytes:        c("raw_bytes_committed_total", "Bytes of raw JSON committed."),
		commits:         c("manifest_commits_total", "Manifest versions written."),
		conflicts:       c("manifest_conflicts_total", "Manifest versions lost to another writer (then rebased)."),
		rejected:        c("files_rejected_total", "Files dropped because another writer had archived their offsets."),
		storageErrors:   prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hindsight", Subsystem: "lake", Name: "storage_errors_total", Help: "Failed object storage operations (retried)."}, []string{"op"}),
		corrupt:         c("corrupt_objects_total", "Objects found unreadable or foreign and skipped, and objects a manifest's pending deletes named that the lake may not delete (left in place)."),
		offsetCommitErr: c("offset_commit_errors_total", "Kafka offset commits that failed (harmless: the manifest is the source of truth)."),
		compacted:       c("files_compacted_total", "Small files merged away by compaction."),
		expired:         c("files_expired_total", "Files removed by retention."),
		deleted:         c("objects_deleted_total", "Objects deleted (replaced files, orphans, old manifests)."),
		watermark:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "hindsight", Subsystem: "lake", Name: "watermark_offset", Help: "Highest offset this archiver archived, per owned partition (hindsight_archive_lag_offsets covers every partition)."}, []string{"partition"}),
		lag:             prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "hindsight", Subsystem: "lake", Name: "lag_records", Help: "Records in Kafka not yet archived (nor refused, as live dead-letters them), per owned partition."}, []string{"partition"}),
		retentionHeld: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "hindsight", Subsystem: "lake", Name: "retention_held_partitions",
			Help: "Partitions whose retention the last maintenance pass found held by a file holding an event dated more than an hour ahead of the clock, of unknown ingest time (written by an older version): it and every later file of the partition stay until then."}),
		deletedUnarchived: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hindsight", Subsystem: "lake", Name: "deleted_unarchived_total",
			Help: "Offsets of the events topic the broker deleted (the topic's retention) before they were archived, per partition, counted when a file of this archiver that lists them under deleted in its manifest entry commits: the lake has no rows for them, though that file's range covers them. Offsets found deleted but left to another writer's file (its file won) or to the next run (a stop before the commit) are not counted here; each offset a file lists is counted once, by the writer whose file the manifest accepted. Shown at 0 for every partition this archiver owns."}, []string{"partition"}),
		archiveLagOffsets: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "hindsight", Subsystem: "archive", Name: "lag_offsets",
			Help: "Offsets of the events topic the lake does not hold yet (Kafka's end offset minus the newest manifest's watermark + 1), per partition, whether this process owns it or not."}, []string{"partition"}),
		archiveLagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "hindsight", Subsystem: "archive", Name: "lag_seconds",
			Help: "How long the oldest offset the lake does not hold has been in Kafka, per partition (a lower bound, measured every LagInterval from this process's start); 0 when the lake is caught up."}, []string{"partition"}),
		buffered:     prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "hindsight", Subsystem: "lake", Name: "buffered_records", Help: "Records consumed but not yet committed to the lake."}),
		manifestVer:  prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "hindsight", Subsystem: "lake", Name: "manifest_version", Help: "Latest manifest version this process knows."}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "hindsight", Subsystem: "lake", Name: "flush_seconds", Help: "Time to encode, upload and commit a set of files.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		catchUps:     c("catch_ups_total", "Times a fed archiver began reading a partition from Kafka itself, because its feed left a hole (a restart with the lake behind, a batch dropped)."),
		catchUpParts: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "hindsight", Subsystem: "lake", Name: "catch_up_partitions", Help: "Partitions a fed archiver is reading from Kafka itself until its feed continues them."}),
		spareEncodes: c("spare_core_encodes_total", "Files encoded beyond the flush concurrency, on a core the live evaluator left idle."),
	}
	if reg == nil {
		return m, nil
	}
	retained := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hindsight", Subsystem: "lake", Name: "retained_buffer_bytes",
		Help: "Bytes of freed archive buffers kept for reuse (at most half of the largest MaxBufferedBytes of the process's archivers)."},
		func() float64 { return float64(buffers.held.Load()) })
	cols := []prometheus.Collector{retained, m.records, m.read, m.parsed, m.duplicates, m.invalidUTF8, m.timeOutOfRange, m.refused, m.files, m.bytes, m.rawBytes, m.commits,
		m.conflicts, m.rejected, m.storageErrors, m.corrupt, m.offsetCommitErr, m.compacted, m.expired, m.retentionHeld, m.deleted,
		m.watermark, m.lag, m.deletedUnarchived, m.archiveLagOffsets, m.archiveLagSeconds, m.buffered, m.manifestVer, m.flushSeconds, m.spareEncodes}
	if feed != nil {
		cols = append(cols, m.catchUps, m.catchUpParts,
			prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "hindsight", Subsystem: "lake", Name: "feed_dropped_records_total",
				Help: "Records the live consumer fetched that the archiver's feed dropped, full at its limit; the archiver reads them from Kafka itself."},
				func() float64 { return float64(feed.Dropped()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "hindsight", Subsystem: "lake", Name: "feed_unused_records_total",
				Help: "Records the live consumer fetched that the archiver had no use for: they came while it read their partition from Kafka itself from before them (that reading archives them), or after the partition was given up."},
				func() float64 { return float64(feed.Unused()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "hindsight", Subsystem: "lake", Name: "feed_wait_seconds_total",
				Help: "Time the live consumer held its next fetch back, waiting for room in the archiver's feed (--archive-feed-wait)."},
				func() float64 { return feed.Waited().Seconds() }))
	}
	for _, col := range cols {
		if err := reg.Register(col); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("lakehouse: metrics already registered (one archiver per registry): %w", err)
			}
			return nil, fmt.Errorf("lakehouse: register metrics: %w", err)
		}
	}
	return m, nil
}
