package backfill

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/window"
)

// Runner runs backfill jobs against one lake and one Kafka cluster.
type Runner struct {
	cfg Config
	db  *sql.DB
	// noPrefilter turns literalPrefilter off, for benchmarks that measure its worth.
	noPrefilter bool
	// noTyped ignores typed columns, for benchmarks that measure their worth.
	noTyped bool
}

// Config configures a Runner.
type Config struct {
	// Lake is the archive to read. Required.
	Lake *lakehouse.Lake
	// CacheDir holds local copies of lake files for DuckDB (links, for a lake on the
	// same disk). Default: a directory under os.TempDir().
	CacheDir string
	// CacheMaxBytes bounds CacheDir: before a job, the oldest files go until it holds
	// at most this much (cache.go). Default (0) DefaultCacheMaxBytes (10 GiB); negative
	// is refused.
	CacheMaxBytes int64
	// OnEvict, if set, is told of each eviction pass that deleted files.
	OnEvict func(Eviction)
	// Brokers and KafkaOpts reach the events topic, for the tail the lake does not hold
	// yet. Without brokers, a job whose tail is not archived fails with ErrTailUnavailable.
	Brokers   []string
	KafkaOpts []kgo.Opt
	// Topic is the events topic. Default "events".
	Topic string
	// DB is a DuckDB database (driver "duckdb") that every job shares. Default: none;
	// each job opens an in-memory database of its own, closed when the job ends, so
	// that MemoryLimit and Threads bound each job.
	DB *sql.DB
	// Threads bounds DuckDB's threads per job. Default: DuckDB's own (all cores).
	Threads int
	// MemoryLimit bounds, in bytes, the memory DuckDB may use for one job (its
	// memory_limit), so that a rule whose backfill needs more fails with ErrMemoryLimit
	// instead of taking the machine: jobs running at once use up to MemoryLimit each.
	// DuckDB applies it to its buffer manager (scans, hash tables, results), which holds
	// nearly all of a job's memory. Default DefaultMemoryLimit; negative: DuckDB's own
	// (80% of RAM). DuckDB's memory_limit is per database, not per connection, so with
	// a shared DB it bounds all jobs together.
	MemoryLimit int64
	// MaxSpillBytes bounds, in bytes, what DuckDB may write to one job's spill directory
	// in CacheDir past MemoryLimit (its max_temp_directory_size; spill.go), so that a
	// job that needs more fails with ErrSpillLimit instead of filling the disk the
	// daemon's state shares. Default (0) DefaultMaxSpillBytes; negative: DuckDB's own
	// (90% of the free disk). As MemoryLimit, with a shared DB it bounds all jobs
	// together.
	MaxSpillBytes int64
	// MaxCustomers bounds the customers one job counts (Result.Counts): a match of a
	// customer beyond is not counted but tallied in Result.Refused, as a live partition
	// past its --max-counters refuses a new counter. A customer counted stays counted,
	// so every count the job gives is whole. Default DefaultMaxCustomers; negative: none.
	MaxCustomers int
	// MaxCustomerIDBytes bounds, as MaxCustomers their number, the bytes of the
	// customers' ids the counts hold. Default DefaultMaxCustomerIDBytes; negative: none.
	MaxCustomerIDBytes int64
	// Progress, if set, is called as files and tail records are read.
	Progress func(Progress)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.Topic == "" {
		c.Topic = "events"
	}
	if c.CacheMaxBytes == 0 {
		c.CacheMaxBytes = DefaultCacheMaxBytes
	}
	if c.CacheDir == "" {
		c.CacheDir = filepath.Join(os.TempDir(), "hindsight-backfill-cache")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = DefaultMemoryLimit
	}
	if c.MaxSpillBytes == 0 {
		c.MaxSpillBytes = DefaultMaxSpillBytes
	}
	if c.MaxCustomers == 0 {
		c.MaxCustomers = DefaultMaxCustomers
	}
	if c.MaxCustomerIDBytes == 0 {
		c.MaxCustomerIDBytes = DefaultMaxCustomerIDBytes
	}
}

// DefaultMaxCustomers and DefaultMaxCustomerIDBytes are Config.MaxCustomers' and
// Config.MaxCustomerIDBytes' defaults, a live partition's own (--max-counters,
// --max-customer-ids-bytes): a job's counts are about 100 bytes a customer beside its
// id, so a gigabyte or two at most.
const (
	DefaultMaxCustomers       = window.DefaultMaxCounters
	DefaultMaxCustomerIDBytes = window.DefaultMaxCustomerIDBytes
)

// DefaultMemoryLimit is Config.MemoryLimit's default: 1 GiB per job. Counting holds
// the row groups of a batch of files being scanned and one row per customer, so this is
// generous for a job, yet a small share of a server running a few at once.
const DefaultMemoryLimit = 1 << 30

// ErrMemoryLimit is matched by the error of a job that needed more memory than
// Config.MemoryLimit. Running it again fails again: raise the limit, or narrow the rule
// (fewer files, cheaper conditions).
var ErrMemoryLimit = errors.New("backfill: job exceeded its DuckDB memory limit")

// Validate reports a Config that cannot work.
func (c *Config) Validate() error {
	if c.Lake == nil {
		return errors.New("backfill: config: Lake is required")
	}
	if c.CacheMaxBytes < 0 {
		// Negative had silently meant the default.
		return fmt.Errorf("backfill: config: cache max bytes %d (--cache-max-bytes): use a positive number of bytes, or 0 for the default", c.CacheMaxBytes)
	}
	return nil
}

// ErrTailUnavailable is returned when events below a job's start are neither in the
// lake nor readable from Kafka.
var ErrTailUnavailable = errors.New("backfill: events between the lake's watermark and the start offset are not readable")

// NewRunner returns a Runner; Close releases what it opened.
func NewRunner(cfg Config) (*Runner, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, db: cfg.DB}
	if r.db != nil {
		for _, set := range duckSettings(cfg) {
			if _, err := r.db.Exec("SET " + set); err != nil {
				return nil, fmt.Errorf("backfill: DuckDB: SET %s: %w", set, err)
			}
		}
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("backfill: creating cache dir: %w", err)
	}
	return r, nil
}

// Close releases what the Runner holds; a shared Config.DB stays open (jobs close
// their own databases as they end).
func (r *Runner) Close() error { return nil }

// duckSettings are the DuckDB settings a job runs with, as name = value.
func duckSettings(cfg Config) []string {
	var s []string
	if cfg.MemoryLimit > 0 {
		s = append(s, fmt.Sprintf("memory_limit = '%dB'", cfg.MemoryLimit))
	}
	if cfg.Threads > 0 {
		s = append(s, fmt.Sprintf("threads = %d", cfg.Threads))
	}
	if cfg.MaxSpillBytes > 0 {
		s = append(s, spillSetting(cfg.MaxSpillBytes))
	}
	return s
}

// jobDB is the DuckDB database one job runs in: the shared Config.DB, or a new
// in-memory one with the job's memory limit and threads, and a spill directory of its
// own (spill.go). done releases it.
func (r *Runner) jobDB() (db *sql.DB, done func(), err error) {
	if r.db != nil {
		return r.db, func() {}, nil
	}
	tmp, release, err := newSpillDir(r.cfg.CacheDir)
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{"temp_directory": {tmp}}
	if r.cfg.MemoryLimit > 0 {
		q.Set("memory_limit", fmt.Sprintf("%dB", r.cfg.MemoryLimit))
	}
	if r.cfg.Threads > 0 {
		q.Set("threads", fmt.Sprint(r.cfg.Threads))
	}
	db, err = sql.Open("duckdb", "?"+q.Encode())
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("backfill: opening DuckDB: %w", err)
	}
	if err := limitSpill(db, r.cfg.MaxSpillBytes); err != nil {
		db.Close()
		release()
		return nil, nil, err
	}
	return db, func() { db.Close(); release() }, nil
}

// memoryLimitError is DuckDB's out-of-memory error for a job, said in one line (DuckDB
// adds advice on lines of its own, about settings a user of Hindsight does not set).
type memoryLimitError struct {
	limit int64
	err   error
}

func (e *memoryLimitError) Error() string {
	first, _, _ := strings.Cut(e.err.Error(), "\n")
	return fmt.Sprintf("job exceeded its memory limit of %s (limit backfill_memory_limit): %s", formatBytes(e.limit), first)
}

func (e *memoryLimitError) Unwrap() []error { return []error{ErrMemoryLimit, e.err} }

// duckError says which of DuckDB's errors is the job's memory limit, or its spill
// limit.
func (r *Runner) duckError(err error) error {
	if le := limitError(err, r.cfg.MemoryLimit, r.cfg.MaxSpillBytes); le != nil {
		return le
	}
	return err
}

// limitError is DuckDB's err as the job's limit it reached (spillLimitError,
// memoryLimitError), or nil for any other error. DuckDB reports both as out of
// memory: a block it could not offload to disk names max_temp_directory_size.
func limitError(err error, mem, spill int64) error {
	var de *duckdb.Error
	switch {
	case !errors.As(err, &de) || de.Type != duckdb.ErrorTypeOutOfMemory:
		return nil
	case strings.Contains(err.Error(), "max_temp_directory_size"):
		return &spillLimitError{limit: spill, err: err}
	}
	return &memoryLimitError{limit: mem, err: err}
}

func formatBytes(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// Run executes one job: the lake's files below Start through DuckDB, then whatever the
// lake does not hold from Kafka. Progress goes to Config.Progress.
func (r *Runner) Run(ctx context.Context, job Job) (*Result, error) {
	return r.RunWithProgress(ctx, job, r.cfg.Progress)
}

// ErrUnreadableFile is returned (wrapped, with the file named) when DuckDB cannot read
// a lake file, or its bytes are not those the manifest lists (lakehouse.ErrCorrupt). The job fails rather than count around it, so the file shows up; the
// caller retries it (the daemon with backoff, showing the error on the rule).
var ErrUnreadableFile = errors.New("backfill: DuckDB cannot read a lake file")

// ErrCacheNotKept is returned (wrapped, with the file named) when the local cache could
// not keep a copy of a lake file until DuckDB read it (another process's eviction, or
// one without flock, deleting it again and again): the lake object is not at fault, and
// a retry may succeed (unlike ErrUnreadableFile).
var ErrCacheNotKept = errors.New("backfill: the local cache could not keep a lake file's copy")

// fetchError is the error of fetching lake file f: one whose bytes are not what the
// manifest says (lakehouse.ErrCorrupt: truncated, damaged) cannot be read however often
// it is fetched again, and is ErrUnreadableFile. (Fetch checks a cached copy too and
// fetches a damaged one afresh, so ErrCorrupt is the lake object's own.)
func fetchError(f lakehouse.FileEntry, err error) error {
	switch {
	case errors.Is(err, lakehouse.ErrCorrupt):
		return fmt.Errorf("%w: %s (partition %d, offsets %d-%d): the lake object itself fails the fetch's checks: %w", ErrUnreadableFile, f.Path, f.Partition, f.StartOffset, f.EndOffset, err)
	case errors.Is(err, ErrCacheNotKept):
		return err // names the file already
	}
	return fmt.Errorf("backfill: fetching %s: %w", f.Path, err)
}

// RunWithProgress is Run reporting this job's progress to progress (nil: none), for
// callers that run several jobs at once.
func (r *Runner) RunWithProgress(ctx context.Context, job Job, progress func(Progress)) (*Result, error) {
	return r.runOnce(ctx, job, progress)
}

// span is an inclusive range of offsets.
type span struct{ from, to int64 }

// partPlan is where one partition's offsets below the job's start are read.
type partPlan struct {
	start int64
	files []lakehouse.FileEntry // every file of the partition below start, by offset
	// lakeStart is the lake's first offset of the partition (-1: not in the lake).
	lakeStart int64
	// lake is the lake's state of the partition, when it has one.
	lake lakehouse.PartitionState
}

// TrimCache deletes the cache's oldest files until it holds at most CacheMaxBytes, or
// all but the files being read, as every job of the runner does before it reads and
// after each chunk of files. Other readers of the same cache (MatchingRows, for
// windowed rules' history) call it before they fetch: nothing else bounds what they
// fetch.
func (r *Runner) TrimCache() {
	if ev := evictCache(r.cfg.CacheDir, r.cfg.CacheMaxBytes); ev.Deleted > 0 {
		r.cfg.Logger.Info("cache trimmed", "dir", r.cfg.CacheDir, "files", ev.Deleted, "freed_bytes", ev.Freed,
			"max_bytes", r.cfg.CacheMaxBytes)
		if r.cfg.OnEvict != nil {
			r.cfg.OnEvict(ev)
		}
	}
}

func (r *Runner) runOnce(ctx context.Context, job Job, progress func(Progress)) (*Result, error) {
	began := time.Now()
	if job.Rule == nil || len(job.Start) == 0 {
		return nil, errors.New("backfill: job needs a rule and start offsets")
	}
	if !job.Rule.Global() && job.Customer != "" && job.Customer != job.Rule.Scope {
		return &Result{Counts: map[string]int64{}}, nil // another customer's rule counts nothing here
	}
	res := &Result{Counts: map[string]int64{}, maxCustomers: r.cfg.MaxCustomers, maxIDBytes: r.cfg.MaxCustomerIDBytes, keep: job.Keep}
	parts := slices.Sorted(maps.Keys(job.Start))
	if (r.cfg.MaxCustomers <= 0 && r.cfg.MaxCustomerIDBytes <= 0) || len(parts) == 1 {
		if err := r.runParts(ctx, job, progress, res); err != nil {
			return nil, err
		}
	} else {
		// Bounded, the customers kept are the first whose events match, by partition
		// (in order of id) then offset, as a partition's live counters take them: read
		// together, the lake's files of every partition came before any partition's
		// Kafka tail, and which were kept turned on how far the archiver had got.
		var done Progress
		for _, p := range parts {
			one := job
			one.Start = map[int32]int64{p: job.Start[p]}
			var last Progress
			err := r.runParts(ctx, one, func(pr Progress) {
				last = pr
				if progress != nil {
					progress(done.plus(pr, time.Since(began)))
				}
			}, res)
			if err != nil {
				return nil, err
			}
			done = done.plus(last, 0)
		}
	}
	slices.SortFunc(res.Truncated, func(a, b Truncation) int { return cmp.Compare(a.Partition, b.Partition) })
	slices.SortFunc(res.Missing, func(a, b Gap) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.From - b.From)
	})
	res.Elapsed = time.Since(began)
	return res, nil
}

// plus is p with q's counts added, at elapsed.
func (p Progress) plus(q Progress, elapsed time.Duration) Progress {
	return Progress{FilesDone: p.FilesDone + q.FilesDone, FilesTotal: p.FilesTotal + q.FilesTotal,
		RowsScanned: p.RowsScanned + q.RowsScanned, TailRecords: p.TailRecords + q.TailRecords, Elapsed: elapsed}
}

// runParts counts job's partitions into res: their lake files, then what the lake
// lacks from Kafka.
func (r *Runner) runParts(ctx context.Context, job Job, progress func(Progress), res *Result) error {
	began := time.Now()
	r.TrimCache()
	customer := job.Customer
	if !job.Rule.Global() {
		customer = job.Rule.Scope
	}
	from := job.Rule.HistoryFrom(job.AsOf)
	pred, err := Compile(job.Rule, "payload")
	if err != nil {
		return err
	}
	snap, err := r.cfg.Lake.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("backfill: reading the lake's manifest: %w", err)
	}
	if err := snap.Manifest().CheckTopic(r.cfg.Topic); err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	parts := make([]int32, 0, len(job.Start))
	maxOff := map[int32]int64{}
	plans := map[int32]*partPlan{}
	for p, start := range job.Start {
		parts = append(parts, p)
		maxOff[p] = start - 1
		pl := &partPlan{start: start, lakeStart: -1}
		if st, ok := snap.Partition(p); ok {
			pl.lakeStart, pl.lake = st.Earliest, st
		}
		for _, f := range snap.Files(lakehouse.Filter{Partitions: []int32{p}}) {
			if f.StartOffset < start {
				pl.files = append(pl.files, f)
			}
		}
		plans[p] = pl
	}
	slices.Sort(parts)
	files := snap.Files(lakehouse.Filter{Partitions: parts, MaxOffset: maxOff, Customer: customer, TimeFrom: from})
	prog := Progress{FilesTotal: len(files)}
	report := func() {
		if progress != nil {
			prog.Elapsed = time.Since(began)
			progress(prog)
		}
	}
	report()
	var lost []lakehouse.FileEntry
	if len(files) > 0 {
		if lost, err = r.queryFiles(ctx, files, jobBounds(job.Start), job, pred, customer, from, res, &prog, report); err != nil {
			return err
		}
	}
	if len(lost) > 0 {
		if lost, err = r.readMoved(ctx, lost, plans, parts, job, pred, customer, from, res, &prog, report); err != nil {
			return err
		}
	}
	// What Kafka deleted before it was archived, no file holds, and Kafka neither. Its
	// events' customers and times are unknown: every file that may hold the rule's
	// history says what it lacks, whoever the rule's customer.
	for p, pl := range plans {
		for _, f := range pl.files {
			if !from.IsZero() && f.MaxTime.Before(from) {
				continue // older than the rule's lookback
			}
			for _, d := range f.Deleted {
				if _, hi := f.DeletedTimes(d); !from.IsZero() && hi.Before(from) {
					continue // placed before the lookback (a merged file's times are wider)
				}
				if d.From < pl.start {
					res.Missing = append(res.Missing, Gap{Partition: p, From: d.From, To: min(d.To, pl.start-1), Reason: lakehouse.DeletedReason})
				}
			}
		}
	}
	if err := r.readHoles(ctx, snap.Manifest().TopicID, job.StartRead, plans, lost, job.Rule, customer, from, res, &prog, report); err != nil {
		return err
	}
	if pred.udf != nil {
		res.EvalCutShort += pred.udf.cutShort.Load()
	}
	return nil
}
