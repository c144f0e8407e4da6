package backfill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// Job is one backfill: a rule's counts per customer over the events of the given
// partitions at offsets below Start, within the rule's lookback of AsOf.
type Job struct {
	Rule *rule.Rule
	// Start is, per partition, the first offset the live stage counts itself: the job
	// counts offsets below it. Partitions not listed are not read.
	Start map[int32]int64
	// AsOf is when the rule became active; the lookback counts back from it. Recording
	// it (rather than using the clock) makes a re-run job count the same events.
	AsOf time.Time
	// Customer, when set, counts only that customer (a customer's own rule, or a
	// by-hand job for one customer).
	Customer string
}

// Progress is reported while a job runs.
type Progress struct {
	FilesDone, FilesTotal int
	RowsScanned           int64
	TailRecords           int64
	Elapsed               time.Duration
}

// Result is a finished job.
type Result struct {
	// Counts per customer. Customers with no qualifying event are absent.
	Counts map[string]int64
	// Files and Rows read from the lake; TailRecords read from Kafka because the lake
	// did not hold them yet.
	Files       int
	Rows        int64
	TailRecords int64
	// Truncated lists partitions whose history below Start was partly dropped by the
	// lake's retention: their counts cover only what is still held.
	Truncated []int32
	Elapsed   time.Duration
}

// Runner runs backfill jobs against one lake and one Kafka cluster.
type Runner struct {
	cfg Config
	db  *sql.DB
	// noPrefilter turns literalPrefilter off, for benchmarks that measure its worth.
	noPrefilter bool
}

// Config configures a Runner.
type Config struct {
	// Lake is the archive to read. Required.
	Lake *lakehouse.Lake
	// CacheDir holds local copies of lake files for DuckDB. Default: a directory under
	// os.TempDir().
	CacheDir string
	// Brokers and KafkaOpts reach the events topic, for the tail the lake does not hold
	// yet. Without brokers, a job whose tail is not archived fails with ErrTailUnavailable.
	Brokers   []string
	KafkaOpts []kgo.Opt
	// Topic is the events topic. Default "events".
	Topic string
	// DB is a DuckDB database (driver "duckdb"). Default: an in-memory one, owned and
	// closed by the Runner.
	DB *sql.DB
	// Threads bounds DuckDB's threads. Default: DuckDB's own (all cores).
	Threads int
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
	if c.CacheDir == "" {
		c.CacheDir = filepath.Join(os.TempDir(), "hindsight-backfill-cache")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a Config that cannot work.
func (c *Config) Validate() error {
	if c.Lake == nil {
		return errors.New("backfill: config: Lake is required")
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
	if r.db == nil {
		db, err := sql.Open("duckdb", "")
		if err != nil {
			return nil, fmt.Errorf("backfill: opening DuckDB: %w", err)
		}
		r.db = db
	}
	if cfg.Threads > 0 {
		if _, err := r.db.Exec(fmt.Sprintf("SET threads = %d", cfg.Threads)); err != nil {
			return nil, fmt.Errorf("backfill: setting DuckDB threads: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("backfill: creating cache dir: %w", err)
	}
	return r, nil
}

// Close closes the DuckDB database if the Runner opened it.
func (r *Runner) Close() error {
	if r.cfg.DB == nil {
		return r.db.Close()
	}
	return nil
}

// Run executes one job: the lake's files below Start through DuckDB, then whatever the
// lake does not hold yet from Kafka. Progress goes to Config.Progress.
func (r *Runner) Run(ctx context.Context, job Job) (*Result, error) {
	return r.RunWithProgress(ctx, job, r.cfg.Progress)
}

// RunWithProgress is Run reporting this job's progress to progress (nil: none), for
// callers that run several jobs at once.
func (r *Runner) RunWithProgress(ctx context.Context, job Job, progress func(Progress)) (*Result, error) {
	began := time.Now()
	if job.Rule == nil || len(job.Start) == 0 {
		return nil, errors.New("backfill: job needs a rule and start offsets")
	}
	customer := job.Customer
	if !job.Rule.Global() {
		if customer != "" && customer != job.Rule.Scope {
			return &Result{Counts: map[string]int64{}}, nil // another customer's rule counts nothing here
		}
		customer = job.Rule.Scope
	}
	var from time.Time
	if job.Rule.Lookback > 0 && !job.AsOf.IsZero() {
		from = job.AsOf.Add(-time.Duration(job.Rule.Lookback))
	}
	pred, err := Compile(job.Rule, "payload")
	if err != nil {
		return nil, err
	}
	snap, err := r.cfg.Lake.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("backfill: reading the lake's manifest: %w", err)
	}
	res := &Result{Counts: map[string]int64{}}
	parts := make([]int32, 0, len(job.Start))
	maxOff := map[int32]int64{}
	tail := map[int32][2]int64{} // partition → [first, last] offsets to read from Kafka
	for p, start := range job.Start {
		parts = append(parts, p)
		maxOff[p] = start - 1
		wm := int64(-1)
		if st, ok := snap.Partition(p); ok {
			wm = st.Watermark
			if st.Earliest > 0 && start > 0 {
				res.Truncated = append(res.Truncated, p)
			}
		}
		if wm < start-1 {
			tail[p] = [2]int64{wm + 1, start - 1}
		}
	}
	slices.Sort(parts)
	slices.Sort(res.Truncated)
	files := snap.Files(lakehouse.Filter{Partitions: parts, MaxOffset: maxOff, Customer: customer, TimeFrom: from})
	prog := Progress{FilesTotal: len(files)}
	report := func() {
		if progress != nil {
			prog.Elapsed = time.Since(began)
			progress(prog)
		}
	}
	report()
	if len(files) > 0 {
		if err := r.queryFiles(ctx, files, job, pred, customer, from, res, &prog, report); err != nil {
			return nil, err
		}
	}
	if len(tail) > 0 {
		if err := r.readTail(ctx, tail, job.Rule, customer, from, res, &prog, report); err != nil {
			return nil, err
		}
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

// queryFiles counts in batches of files so that progress moves and the local cache can
// be filled while DuckDB works on what it has.
func (r *Runner) queryFiles(ctx context.Context, files []lakehouse.FileEntry, job Job, pred *Predicate, customer string, from time.Time, res *Result, prog *Progress, report func()) error {
	const batch = 16
	var pre prefilter
	if !r.noPrefilter {
		pre = literalPrefilter(job.Rule.When, "payload")
	}
	return withConn(ctx, r.db, func(conn *sql.Conn) error {
		if err := pred.Register(conn); err != nil {
			return err
		}
		for i := 0; i < len(files); i += batch {
			chunk := files[i:min(i+batch, len(files))]
			local := make([]string, 0, len(chunk))
			for _, f := range chunk {
				path, err := r.cfg.Lake.Fetch(ctx, f, r.cfg.CacheDir)
				if err != nil {
					return fmt.Errorf("backfill: fetching %s: %w", f.Path, err)
				}
				local = append(local, path)
			}
			q, args := countQuery(local, job.Start, pred, pre, customer, from)
			rows, err := conn.QueryContext(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("backfill: counting %s over %d files: %w", job.Rule.Key(), len(local), err)
			}
			for rows.Next() {
				var c string
				var matched, scanned int64
				if err := rows.Scan(&c, &matched, &scanned); err != nil {
					rows.Close()
					return fmt.Errorf("backfill: reading counts: %w", err)
				}
				if matched > 0 {
					res.Counts[c] += matched
				}
				res.Rows += scanned
				prog.RowsScanned += scanned
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("backfill: counting %s: %w", job.Rule.Key(), err)
			}
			res.Files += len(chunk)
			prog.FilesDone += len(chunk)
			report()
		}
		return nil
	})
}

// countQuery builds the per-customer count over local Parquet files. File names are
// our own cache paths (lake object names are validated), quoted as SQL literals; every
// other value is a bound argument.
func countQuery(local []string, start map[int32]int64, pred *Predicate, pre prefilter, customer string, from time.Time) (string, []any) {
	quoted := make([]string, len(local))
	for i, p := range local {
		quoted[i] = "'" + strings.ReplaceAll(p, "'", "''") + "'"
	}
	var where []string
	var args []any
	parts := make([]int32, 0, len(start))
	for p := range start {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	var bounds []string
	for _, p := range parts {
		bounds = append(bounds, `("partition" = ? AND "offset" < ?)`)
		args = append(args, p, start[p])
	}
	where = append(where, "("+strings.Join(bounds, " OR ")+")", "customer <> ''")
	if customer != "" {
		where = append(where, "customer = ?")
		args = append(args, customer)
	}
	if !from.IsZero() {
		where = append(where, "event_time >= ?")
		args = append(args, from.UTC())
	}
	// The rule's predicate runs only on the rows the WHERE clause keeps, only on valid
	// JSON, as the live stage would never count an invalid event, and only where the
	// text can hold the strings the rule needs. Nested CASEs, because DuckDB evaluates
	// both sides of an AND over the whole vector but a CASE branch only on the rows
	// its condition selected: each JSON function call parses the whole document again,
	// so a substring test that rules out most rows first is the largest saving.
	test := fmt.Sprintf("CASE WHEN json_valid(payload) THEN %s ELSE false END", pred.SQL)
	if pre.sql != "" {
		test = fmt.Sprintf("CASE WHEN %s THEN %s ELSE false END", pre.sql, test)
	}
	q := fmt.Sprintf(`SELECT customer,
	  count(*) FILTER (WHERE %s) AS matched,
	  count(*) AS scanned
	FROM read_parquet([%s]) WHERE %s GROUP BY customer`, test, strings.Join(quoted, ", "), strings.Join(where, " AND "))
	// Placeholders number in text order: the prefilter's, then the predicate's, come
	// first, in the SELECT list.
	all := append(slices.Clone(pre.args), pred.Args...)
	return q, append(all, args...)
}

// prefilter is a necessary condition of a rule on the raw JSON text: SQL with ?
// placeholders for args; empty when the rule has none worth testing.
type prefilter struct {
	sql  string
	args []any
}

// literalPrefilter derives from cond a substring test that every document satisfying
// cond passes. It rests on one fact: a JSON text without a backslash has no escapes,
// so each string value in it appears verbatim between its quotes. Hence, for a text
// without a backslash, "some selected node equals (or, for contains, holds) string s"
// implies that the text contains s. Texts with a backslash always pass. Tests on other
// kinds (numbers have many spellings) and negations give no condition.
func literalPrefilter(cond *rule.Condition, column string) prefilter {
	expr, args, ok := literalNeeds(cond, column)
	if !ok {
		return prefilter{}
	}
	return prefilter{sql: fmt.Sprintf("(contains(%s, ?) OR %s)", column, expr), args: append([]any{`\`}, args...)}
}

// literalNeeds is the condition of literalPrefilter for texts without a backslash; ok
// is false when cond implies nothing about the text.
func literalNeeds(cond *rule.Condition, column string) (string, []any, bool) {
	switch {
	case cond == nil || cond.Not != nil:
		return "", nil, false
	case cond.All != nil:
		var parts []string
		var args []any
		for _, sub := range cond.All {
			if e, a, ok := literalNeeds(sub, column); ok {
				parts = append(parts, e)
				args = append(args, a...)
			}
		}
		if len(parts) == 0 {
			return "", nil, false
		}
		return "(" + strings.Join(parts, " AND ") + ")", args, true
	case cond.Any != nil:
		var parts []string
		var args []any
		for _, sub := range cond.Any {
			e, a, ok := literalNeeds(sub, column)
			if !ok {
				return "", nil, false // one alternative needs nothing: neither does the whole
			}
			parts = append(parts, e)
			args = append(args, a...)
		}
		if len(parts) == 0 {
			return "", nil, false
		}
		return "(" + strings.Join(parts, " OR ") + ")", args, true
	}
	var strs []string
	switch cond.Op {
	case rule.OpEq, rule.OpContains:
		if s, ok := cond.Operand().(string); ok {
			strs = append(strs, s)
		}
	case rule.OpIn:
		list, _ := cond.Operand().([]any)
		for _, m := range list {
			s, ok := m.(string)
			if !ok {
				return "", nil, false // a non-string member may match with no string present
			}
			strs = append(strs, s)
		}
	}
	if len(strs) == 0 || slices.Contains(strs, "") {
		return "", nil, false
	}
	parts := make([]string, len(strs))
	args := make([]any, len(strs))
	for i, s := range strs {
		parts[i] = fmt.Sprintf("contains(%s, ?)", column)
		args[i] = s
	}
	return "(" + strings.Join(parts, " OR ") + ")", args, true
}

// readTail reads from Kafka the records the lake does not hold yet, evaluating the
// rule with the live evaluator's code.
func (r *Runner) readTail(ctx context.Context, tail map[int32][2]int64, rl *rule.Rule, customer string, from time.Time, res *Result, prog *Progress, report func()) error {
	if len(r.cfg.Brokers) == 0 {
		return fmt.Errorf("%w: %d partitions need Kafka and no brokers are configured", ErrTailUnavailable, len(tail))
	}
	offsets := map[int32]kgo.Offset{}
	for p, rng := range tail {
		offsets[p] = kgo.NewOffset().At(rng[0])
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(r.cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{r.cfg.Topic: offsets}),
	}, r.cfg.KafkaOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("backfill: Kafka client for the tail: %w", err)
	}
	defer cl.Close()
	remaining := map[int32]int64{}
	for p, rng := range tail {
		remaining[p] = rng[1]
	}
	doc := jsonpath.NewDocument()
	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var fetchErr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				fetchErr = fmt.Errorf("%w: partition %d: %v", ErrTailUnavailable, p, err)
			}
		})
		if fetchErr != nil {
			return fetchErr
		}
		fs.EachRecord(func(rec *kgo.Record) {
			last, ok := remaining[rec.Partition]
			if !ok || rec.Offset > last {
				return
			}
			if rec.Offset >= last {
				delete(remaining, rec.Partition)
			}
			res.TailRecords++
			prog.TailRecords++
			c := string(rec.Key)
			if c == "" || (customer != "" && c != customer) || (!from.IsZero() && rec.Timestamp.Before(from)) {
				return
			}
			if doc.Reset(rec.Value) != nil {
				return
			}
			if rl.Matches(doc) {
				res.Counts[c]++
			}
		})
		report()
	}
	return nil
}
