package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/httpguard"
	"github.com/hindsightdev/hindsight/internal/limitmetric"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
)

const defaultLake = lakehouse.DefaultLakeURL

// checkBucketFlag refuses, as bad usage naming the flag, a bucket URL that names no
// store (lakehouse.CheckBucketURL: a plain path, another scheme, a file:// URL without
// a directory). Left to opening the bucket, it failed with exit status 1, the status of
// a store that fails, after whatever the command did first.
func checkBucketFlag(flag, rawURL string) error {
	if err := lakehouse.CheckBucketURL(rawURL); err != nil {
		return usageError{fmt.Errorf("--%s: %w", flag, err)}
	}
	return nil
}

// newArchiveCmd is `hindsight archive`: the lakehouse archiver alone.
func newArchiveCmd() *cobra.Command {
	var (
		cfg         lakehouse.ArchiverConfig
		kc          ingest.KafkaConfig
		topics      ingest.Topics
		metricsAddr string
		httpLimits  httpguard.Limits
		maxCustomer int
		logLevel    string
		columns     []string
		maxColumns  int
	)
	cmd := &cobra.Command{
		Use:   "archive",
		Short: "Archive every event of the events topic, exactly once, as Parquet in object storage",
		Long: `Consume the events topic and write every record, exactly once, into the lake: Parquet
files (zstd, or --compression snappy; sorted by customer then offset) under data/, made visible by versioned
manifests under manifest/. Restarting resumes from the manifest. Archivers sharing
--group split the partitions. SIGINT or SIGTERM flushes what is buffered and exits.

--lake is a gocloud.dev/blob URL: file:///path (default ./hindsight-data/lake, where
hindsight live archives) or s3://bucket?region=R[&endpoint=http://host:port&use_path_style=true].`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := envLogger(cmd, logLevel)
			if err != nil {
				return err
			}
			kc.EnsureDefaults()
			if err := kc.Validate(); err != nil {
				return usageError{err}
			}
			if err := applyCustomerBytes(maxCustomer); err != nil {
				return err
			}
			opts, err := kc.Opts()
			if err != nil {
				return usageError{err}
			}
			cfg.Brokers, cfg.KafkaOpts, cfg.Topic, cfg.Logger = kc.Brokers, opts, topics.Events, logger
			if err := checkBucketFlag("lake", cmp.Or(cfg.BucketURL, defaultLake)); err != nil {
				return err
			}
			if err := checkDecompressedBatch(cfg.MaxDecompressedBatchBytes); err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			cfg.Registerer = reg
			// One hindsight_limit family for the archiver's limits and its server's.
			cfg.Limits = limitmetric.New()
			reg.MustRegister(cfg.Limits.Collectors()...)
			if cfg.Columns, err = archiveColumns(columns, maxColumns, cfg.Limits, logger); err != nil {
				return err
			}
			reg.MustRegister(
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hindsight_lake_typed_paths", Help: "JSONPaths this archiver writes typed columns for: its --lake-columns, up to --lake-max-columns."},
					func() float64 { return float64(len(cfg.Columns.Paths())) }),
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hindsight_lake_typed_paths_over_limit", Help: "--lake-columns paths that --lake-max-columns left untyped (history reads them from the JSON payload)."},
					func() float64 { return float64(cfg.Columns.Over()) }))
			cfg.EnsureDefaults()
			if err := cfg.ValidateNamed(flagOf(archiveFlags)); errors.Is(err, lakehouse.ErrRetentionNeverApplied) {
				return usageError{fmt.Errorf("--retention %v with --compact-interval %v: give --compact-interval a positive interval, or --retention 0: %w",
					cfg.Retention, cfg.CompactInterval, err)}
			} else if err != nil {
				return usageError{err}
			}
			if err := httpLimits.Validate(); err != nil {
				return usageError{err}
			}
			ctx := cmd.Context()
			if err := pingBrokers(ctx, kc, ""); err != nil {
				return stoppedWhileStarting(ctx, err)
			}
			if metricsAddr == "" {
				return lakehouse.RunArchiver(ctx, cfg)
			}
			cfg.Limits.Show(rule.LimitCustomerBytes, float64(maxCustomer))
			ln, err := net.Listen("tcp", metricsAddr)
			if err != nil {
				return fmt.Errorf("metrics listener: %w", err)
			}
			logger.Info("metrics listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/metrics")
			mux := http.NewServeMux()
			mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() error { return httpguard.Serve(gctx, metricsAddr, ln, mux, httpLimits, cfg.Limits, logger) })
			g.Go(func() error {
				// The archiver's end, an error or not, stops the server.
				err := lakehouse.RunArchiver(gctx, cfg)
				return cmp.Or(err, errArchiverStopped)
			})
			if err := g.Wait(); !errors.Is(err, errArchiverStopped) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	addKafkaFlags(f, &kc, &topics, defaultBrokers, topicEvents)
	f.StringVar(&cfg.Group, "group", archiveDefaults.Group, "consumer group of the archivers")
	addGroupMemberFlags(f, &cfg.SessionTimeout, &cfg.InstanceID)
	f.StringVar(&cfg.BucketURL, "lake", defaultLake, "bucket URL of the lake")
	addStorageTimeoutFlag(f, &cfg.StorageTimeout)
	f.Int64Var(&cfg.RollBytes, "roll-bytes", archiveDefaults.RollBytes, "close a file once it holds this much raw JSON (0: the default; at most 1 GiB, 1073741824)")
	f.DurationVar(&cfg.RollAge, "roll-age", archiveDefaults.RollAge, "close a file this long after its first record (0: the default)")
	f.IntVar(&cfg.MaxHourSplits, "max-hour-splits", archiveDefaults.MaxHourSplits, "files closed per partition and --roll-age because an event of a later hour (its record timestamp) came; past it such events join the open file (0: the default; negative: no bound)")
	f.Int64Var(&cfg.MaxBufferedBytes, "max-buffered-bytes", archiveDefaults.MaxBufferedBytes, "raw JSON held in memory, and 52 bytes a row besides, and the typed values (9 bytes per typed path and row, and the typed strings); past it files close early, and while storage lags fetching pauses (hindsight_limit_reached_total{name=\"archive_max_buffered_bytes\"}; 0: the default)")
	addDecompressedBatchFlag(f, &cfg.MaxDecompressedBatchBytes)
	f.IntVar(&cfg.RowGroupRows, "row-group-rows", archiveDefaults.RowGroupRows, "Parquet row group length (0: the default)")
	addCompressionFlag(f, &cfg.Compression, "compression")
	f.IntVar(&cfg.CompressionLevel, "zstd-level", archiveDefaults.CompressionLevel, "zstd level (1-22; 0: the default)")
	// This archiver reads no rules: it types the paths named here (hindsight live's
	// embedded archiver types its rules' paths as well).
	addLakeColumnFlags(f, &columns, &maxColumns, "name the paths your rules read: this archiver does not read rules")
	f.DurationVar(&cfg.CompactInterval, "compact-interval", archiveDefaults.CompactInterval, "how often to compact, apply retention and collect garbage (negative: never, refused with a --retention)")
	f.Int64Var(&cfg.CompactSmallBytes, "compact-small-bytes", archiveDefaults.CompactSmallBytes, "files smaller than this are merged (0: the default)")
	f.DurationVar(&cfg.Retention, "retention", 0, "drop files whose newest event is older than this, every --compact-interval (0: keep everything)")
	f.DurationVar(&cfg.DeleteDelay, "delete-delay", archiveDefaults.DeleteDelay, "keep replaced files this long for readers of older snapshots (0: the default)")
	f.DurationVar(&cfg.OrphanGrace, "orphan-grace", archiveDefaults.OrphanGrace, "delete unlisted data objects older than this (0: the default); give every archiver and lake compact of one lake the same (a file an archiver uploaded and has not yet listed is younger than its own grace, not another's)")
	f.StringVar(&metricsAddr, "metrics-addr", "127.0.0.1:8081", "serve Prometheus /metrics here (empty: off)")
	addSideHTTPFlags(f, &httpLimits)
	addMemoryLimitFlag(f, &cfg.MemoryLimit)
	addCustomerBytesFlag(f, &maxCustomer)
	addLogFlags(f, &logLevel, "info")
	return cmd
}

// archiveFlags and compactFlags are the flags of hindsight archive and lake compact
// by the lakehouse config field they set: a refused setting is named as the operator
// gave it (ArchiverConfig.ValidateNamed), not by its Go name.
var (
	archiveFlags = map[string]string{
		"RollBytes": "roll-bytes", "RollAge": "roll-age", "MaxBufferedBytes": "max-buffered-bytes",
		"RowGroupRows": "row-group-rows", "Compression": "compression", "CompressionLevel": "zstd-level",
		"MemoryLimit": "memory-limit", "Retention": "retention", "CompactInterval": "compact-interval",
		"DeleteDelay": "delete-delay", "OrphanGrace": "orphan-grace", "SessionTimeout": "session-timeout",
	}
	compactFlags = map[string]string{
		"TargetBytes": "target-bytes", "CompactSmallBytes": "compact-small-bytes", "Compression": "compression",
		"Retention": "retention", "DeleteDelay": "delete-delay", "OrphanGrace": "orphan-grace",
	}
)

// flagOf names a config field by its flag in flags ("" for a field no flag sets).
func flagOf(flags map[string]string) func(field string) string {
	return func(field string) string {
		if f, ok := flags[field]; ok {
			return "--" + f
		}
		return ""
	}
}

// archiveColumns is the typed paths of `hindsight archive`: its --lake-columns, each
// a singular path, refused otherwise (exit 2 naming the flag) as `hindsight live`
// refuses it; a non-singular path types nothing, and lakehouse.ColumnSet skips it
// without a word, as it should for a rule's path, not for one asked for by name.
// Past --lake-max-columns the rest are not typed, as in live: a warning names the
// flag, and hindsight_lake_typed_paths_over_limit and
// hindsight_limit_reached_total{name="lake_max_columns"} show it.
func archiveColumns(paths []string, maxPaths int, limits *limitmetric.Limits, logger *slog.Logger) (*lakehouse.ColumnSet, error) {
	for _, p := range paths {
		if err := lakehouse.CheckColumnPath(p); err != nil {
			return nil, usageError{fmt.Errorf("--lake-columns: %w", err)}
		}
	}
	set := lakehouse.NewColumnSet(maxPaths)
	err := set.Set(paths)
	switch {
	case errors.Is(err, lakehouse.ErrTooManyColumns):
		limits.Reached(lakehouse.LimitColumns)
		logger.Warn("more --lake-columns paths than --lake-max-columns: the rest are not typed, history queries read them from the JSON payload (raise --lake-max-columns)",
			"paths", len(paths), "limit", max(set.Max(), 0), "untyped", set.Over(), "typed", set.Paths())
	case err != nil:
		return nil, usageError{fmt.Errorf("--lake-columns: %w", err)}
	}
	return set, nil
}

// errArchiverStopped ends the archive command's group when the archiver returned
// without an error (its context ended), so that its metrics server stops too.
var errArchiverStopped = errors.New("archiver stopped")

// addLakeColumnFlags adds --lake-columns and --lake-max-columns: the JSONPaths the
// archiver writes typed columns for (lakehouse.TypedColumn). what completes the help.
func addLakeColumnFlags(f *pflag.FlagSet, paths *[]string, maxPaths *int, what string) {
	f.StringSliceVar(paths, "lake-columns", nil, "JSONPaths (singular: names and indexes) the archiver stores as typed columns next to each event, so history queries on them read values, not JSON; "+what)
	addLakeMaxColumnsFlag(f, maxPaths, "")
}

// addLakeMaxColumnsFlag adds --lake-max-columns, the most JSONPaths a lake file types
// (the archiver's files and compaction's merged files); more completes the help. 0
// types none in every command (noneAtZero).
func addLakeMaxColumnsFlag(f *pflag.FlagSet, maxPaths *int, more string) {
	*maxPaths = live.DefaultLakeMaxColumns
	f.Var(noneAtZero{maxPaths}, "lake-max-columns", "most JSONPaths typed in a file"+more+"; past it the rest are read from the JSON (0 or negative: none)")
}

// noneAtZero is an int flag whose 0 is stored as -1, "none": the configs it fills
// (live.Config.LakeMaxColumns, lakehouse.MaintenanceConfig.MaxColumns) take 0 for
// their default, so `live` and `lake compact` typed 32 paths at --lake-max-columns 0
// while `archive` typed none, the help saying neither.
type noneAtZero struct{ p *int }

func (v noneAtZero) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v noneAtZero) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, strconv.IntSize)
	if err != nil {
		return err
	}
	if n == 0 {
		n = -1
	}
	*v.p = int(n)
	return nil
}

func (noneAtZero) Type() string { return "int" }

// lakeOptions are the flags every `hindsight lake` subcommand shares.
type lakeOptions struct {
	url            string
	json           bool
	logLevel       string
	storageTimeout time.Duration
}

// newLakeCmd is `hindsight lake`: look into the archive.
func newLakeCmd() *cobra.Command {
	var opts lakeOptions
	cmd := &cobra.Command{
		Use:   "lake",
		Short: "Inspect and maintain the Parquet archive (ls, stats, compact)",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&opts.url, "lake", defaultLake, "bucket URL of the lake")
	addStorageTimeoutFlag(pf, &opts.storageTimeout)
	pf.BoolVar(&opts.json, "json", false, "print JSON instead of a table")
	addLogFlags(pf, &opts.logLevel, "warn")
	// runE gives each subcommand the lake URL and how to reach its storage (with the
	// logger); --lake "" means the default.
	runE := func(run func(ctx context.Context, url string, storage lakehouse.StorageConfig, out io.Writer) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			logger, err := envLogger(cmd, opts.logLevel)
			if err != nil {
				return err
			}
			url := opts.url
			if url == "" {
				url = defaultLake
			}
			if err := checkBucketFlag("lake", url); err != nil {
				return err
			}
			if lakehouse.InProcess(url) {
				// Opened here it is a new, empty bucket, which the commands reported as
				// an empty lake: a daemon's --lake mem:// answered "nothing stored yet".
				return usageError{fmt.Errorf("%w at --lake %s: a mem:// lake lives only in the process that made it (hindsight live --lake mem://, tests), so there is none here to read: pass the --lake of a file:// or s3:// lake", lakehouse.ErrNoLake, url)}
			}
			// Reading (or maintaining) a lake never makes one.
			if err := lakehouse.CheckLakeExists(url); err != nil {
				return usageError{err}
			}
			return run(cmd.Context(), url, lakehouse.StorageConfig{Timeout: opts.storageTimeout, Logger: logger}, cmd.OutOrStdout())
		}
	}

	var filter lakehouse.Filter
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List the visible files: partition, offset range, rows, bytes, times, customers",
		Args:  cobra.NoArgs,
		RunE: runE(lakeReport(&opts.json, func(ctx context.Context, url string, storage lakehouse.StorageConfig) (lakehouse.Listing, error) {
			return lakehouse.ListLake(ctx, url, filter, storage)
		}, printListing)),
	}
	ls.Flags().Int32SliceVar(&filter.Partitions, "partition", nil, "only these partitions")
	ls.Flags().StringVar(&filter.Customer, "customer", "", "only files that may hold this customer")

	stats := &cobra.Command{
		Use:   "stats",
		Short: "Files, rows, bytes, watermark and earliest offset per partition, and the compression ratio",
		Args:  cobra.NoArgs,
		RunE:  runE(lakeReport(&opts.json, lakehouse.LakeStats, printStats)),
	}

	var mc lakehouse.MaintenanceConfig
	compact := &cobra.Command{
		Use:   "compact",
		Short: "Run one maintenance pass: merge small files, apply retention, delete garbage",
		Long: `Run one maintenance pass: merge small files, apply retention, delete replaced files
and garbage, prune old manifests.

A listed file it cannot read (damaged, truncated, deleted by hand) is left listed, the
files around it merged, and the pass, all else done, exits 1 naming it: the file is the
only copy of its offsets, and backfill and backtest over them fail until it is restored
from a backup or the bucket's object versions.`,
		Args: cobra.NoArgs,
		RunE: runE(func(ctx context.Context, url string, storage lakehouse.StorageConfig, out io.Writer) error {
			if err := mc.ValidateNamed(flagOf(compactFlags)); err != nil {
				return usageError{err}
			}
			rep, err := lakehouse.MaintainLake(ctx, url, mc, storage)
			if rep != nil {
				if perr := printMaintenance(out, *rep, opts.json); err == nil {
					err = perr
				}
			}
			return err
		}),
	}
	cf := compact.Flags()
	cf.Int64Var(&mc.CompactSmallBytes, "compact-small-bytes", archiveDefaults.CompactSmallBytes, "files smaller than this are merged (0: the default)")
	cf.Int64Var(&mc.TargetBytes, "target-bytes", archiveDefaults.RollBytes, "memory bound of a merge: the merged file's raw JSON plus about 160 bytes a row and 32 per typed path and row (0: the default; at most 1 GiB, 1073741824)")
	addLakeMaxColumnsFlag(cf, &mc.MaxColumns, " (a merged file keeps the paths its inputs typed that the most rows use)")
	addCompressionFlag(cf, &mc.Compression, "compression")
	cf.DurationVar(&mc.Retention, "retention", 0, "drop files whose newest event is older than this (0: keep everything)")
	cf.DurationVar(&mc.DeleteDelay, "delete-delay", archiveDefaults.DeleteDelay, "keep replaced files this long (0: the default; negative: delete now)")
	cf.DurationVar(&mc.OrphanGrace, "orphan-grace", archiveDefaults.OrphanGrace, "delete unlisted data objects older than this (0: the default); the same as the running archivers' --orphan-grace: shorter, a file one uploaded and has not yet listed may be deleted; over twice as long, a file this compaction merged may be deleted by an archiver's collection before a slow commit lists it")
	cf.DurationVar(&mc.StoragePatience, "storage-patience", lakehouse.DefaultStoragePatience, "how long one storage operation of the pass (a read, an upload, a manifest commit, a delete) may keep failing, retried meanwhile, before the pass ends with its error, exit status 1; what it committed stays, a merged file it did not list is collected later (0: the default; negative: wait out any outage, as the archiver's own compaction does)")

	cmd.AddCommand(ls, stats, compact)
	return cmd
}

// addCompressionFlag adds the flag name for the lake files' codec.
func addCompressionFlag(f *pflag.FlagSet, codec *string, name string) {
	f.StringVar(codec, name, archiveDefaults.Compression, "Parquet codec of the lake files: "+lakehouse.CompressionZstd+", or "+lakehouse.CompressionSnappy+
		" (files about 40% larger; its compression runs about 3× as fast as zstd's, the archive's CPU per event about a tenth lower)")
}
