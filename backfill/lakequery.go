package backfill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// chunkFiles is how many files a job reads between trims of the cache (TrimCache), as
// MatchingRows does (TrimAfterReads).
const chunkFiles = 16

// queryFiles counts in batches of files so that progress moves and the local cache can
// be filled while DuckDB works on what it has, counting only the rows within bounds
// (per partition, the offsets wanted: jobBounds, or a lost file's range for readMoved).
// It returns the files the manifest lists but the bucket no longer has, for the caller
// to account for.
func (r *Runner) queryFiles(ctx context.Context, files []lakehouse.FileEntry, bounds map[int32]span, job Job, pred *Predicate, customer string, from time.Time, res *Result, prog *Progress, report func()) ([]lakehouse.FileEntry, error) {
	const batch = chunkFiles
	var pre prefilter
	if !r.noPrefilter {
		pre = literalPrefilter(job.Rule.When, "payload")
	}
	var lost []lakehouse.FileEntry
	q := &chunkQuery{bounds: bounds, job: job, pred: pred, pre: pre, customer: customer, from: from, res: res, prog: prog, report: report}
	db, done, err := r.jobDB()
	if err != nil {
		return nil, err
	}
	defer done()
	err = withConn(ctx, db, func(conn *sql.Conn) error {
		if err := pred.Register(conn); err != nil {
			return err
		}
		for i := 0; i < len(files); i += batch {
			chunk := files[i:min(i+batch, len(files))]
			// The chunk's files stay while DuckDB reads them; the others may go, and do
			// once the chunk is read, so that one job over a large lake keeps the cache
			// bounded as it goes.
			gone, err := r.queryChunk(ctx, conn, chunk, q)
			lost = append(lost, gone...)
			if err != nil {
				return err
			}
			r.TrimCache()
		}
		return nil
	})
	return lost, err
}

// chunkQuery is what queryChunk needs of its job.
type chunkQuery struct {
	bounds   map[int32]span
	job      Job
	pred     *Predicate
	pre      prefilter
	customer string
	from     time.Time
	res      *Result
	prog     *Progress
	report   func()
}

// queryChunk fetches chunk's files, pinned in the cache while DuckDB reads them (in
// this process and, by flock, in every other: see cache.go), and adds their counts to
// q.res. It returns the files the bucket no longer has.
func (r *Runner) queryChunk(ctx context.Context, conn *sql.Conn, chunk []lakehouse.FileEntry, q *chunkQuery) (lost []lakehouse.FileEntry, err error) {
	defer pinFiles(r.cfg.CacheDir, chunk...)()
	var holds []func()
	defer func() {
		for _, release := range holds {
			release()
		}
	}()
	hold := func(release func()) { holds = append(holds, release) }
	// Files the archiver checked row by row take the native SQL; older ones the
	// Go evaluator alone (see Predicate). Each run of consecutive files of one kind is
	// one query, in the chunk's order (by partition, then offset), so that customers
	// reach res in order of their first events (count): grouped by kind, a later file's
	// customers had come before an earlier one's.
	type kind struct {
		test  string
		args  []any
		pre   prefilter
		tally *int
	}
	// Typed columns decide without the payload: no substring prefilter. Nor where they
	// choose the rows the Go evaluator decides: the payload is read whole either way,
	// and the typed test rules out more.
	typed := kind{q.pred.TypedSQL, q.pred.TypedArgs, prefilter{}, &q.res.TypedFiles}
	prefiltered := kind{q.pred.PrefilteredSQL, q.pred.PrefilteredArgs, prefilter{}, &q.res.PrefilteredFiles}
	checked := kind{q.pred.SQL, q.pred.Args, q.pre, nil}
	unchecked := kind{q.pred.UncheckedSQL, nil, q.pre, nil}
	var run []lakehouse.FileEntry
	var runPaths []string
	var runKind *kind
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		rows, err := r.countFiles(ctx, conn, run, runPaths, q.bounds, q.job, runKind.test, runKind.args, runKind.pre, q.customer, q.from, q.res, hold)
		if err != nil {
			return err
		}
		q.res.Rows += rows
		q.prog.RowsScanned += rows
		if runKind.tally != nil {
			*runKind.tally += len(run)
		}
		run, runPaths = nil, nil
		return nil
	}
	for _, f := range chunk {
		path, release, err := fetchHeld(ctx, r.cfg.Lake, r.cfg.CacheDir, f, false)
		if errors.Is(err, lakehouse.ErrNotFound) {
			lost = append(lost, f)
			continue
		}
		if err != nil {
			return lost, fetchError(f, err)
		}
		hold(release)
		var k *kind
		switch {
		case !r.noTyped && q.pred.Typed(f):
			k = &typed
		case !r.noTyped && q.pred.Prefiltered(f):
			k = &prefiltered
		case f.Checked:
			k = &checked
		default:
			k = &unchecked
		}
		if k != runKind {
			if err := flush(); err != nil {
				return lost, err
			}
			runKind = k
		}
		run, runPaths = append(run, f), append(runPaths, path)
	}
	if err := flush(); err != nil {
		return lost, err
	}
	q.res.Files += len(chunk)
	q.prog.FilesDone += len(chunk)
	q.report()
	return lost, nil
}

// count runs the count query over local files, adds its matches per customer to res
// (nil: they are dropped, as unreadableFile's probes want) and returns the rows
// scanned. The rows come in order of each customer's first matching event and each
// goes to res as it arrives, so that a bounded job (Config.MaxCustomers) holds in Go no
// more customers than its counts do, whatever a chunk's GROUP BY returns; the order is
// the one Result.count needs to choose the customers live's counters would. counted tells whether res took
// some of the query's counts before an error: the query cannot then run again into the
// same res.
func (r *Runner) count(ctx context.Context, conn *sql.Conn, local []string, bounds map[int32]span, job Job, test string, testArgs []any, pre prefilter, customer string, from time.Time, res *Result) (scanned int64, counted bool, err error) {
	q, args := countQuery(local, bounds, test, testArgs, pre, customer, from)
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, false, fmt.Errorf("backfill: counting %s over %d files: %w", job.Rule.Key(), len(local), r.duckError(err))
	}
	defer rows.Close()
	var total int64
	prevPart, prevFirst, ordered := int32(0), int64(0), false
	for rows.Next() {
		var c string
		var part int32
		var matched, n int64
		var firstAt sql.NullInt64
		if err := rows.Scan(&c, &part, &matched, &firstAt, &n); err != nil {
			return 0, counted, fmt.Errorf("backfill: reading counts of %s: %w", job.Rule.Key(), err)
		}
		// Which customers a bounded job keeps rests on this order: a query that sorted
		// otherwise would change the verdict silently.
		if firstAt.Valid {
			if ordered && (part < prevPart || (part == prevPart && firstAt.Int64 < prevFirst)) {
				return 0, counted, fmt.Errorf("backfill: counting %s: DuckDB returned customer %q (partition %d, first offset %d) after partition %d offset %d, not in order of first events", job.Rule.Key(), c, part, firstAt.Int64, prevPart, prevFirst)
			}
			prevPart, prevFirst, ordered = part, firstAt.Int64, true
		}
		if matched > 0 && res != nil {
			res.count(c, matched)
			counted = true
		}
		total += n
	}
	if err := rows.Err(); err != nil {
		return 0, counted, fmt.Errorf("backfill: counting %s over %d files: %w", job.Rule.Key(), len(local), r.duckError(err))
	}
	return total, counted, nil
}

// countFiles is count over files (their copies local, held by the caller), with a
// last line against a cache that lost or damaged a copy where the lake is healthy: a
// query that fails on one file alone (unreadableFile) fetches that file afresh
// (lakehouse.Lake.FetchAgain, held through hold) and runs again. Each file is fetched
// again once, so the tries are bounded by the group's files; a group's failures are
// rare enough (a copy damaged inside, which Fetch's trailer check does not see, or
// deleted despite the hold: see deleteUnheld) that a second named file is a second
// fault, not the first one again. The error that remains names the file and says which
// it is: ErrUnreadableFile when the lake object itself cannot be read (the fresh copy
// failed the fetch's checks, or DuckDB's read), ErrCacheNotKept when the fresh copy was
// gone again.
func (r *Runner) countFiles(ctx context.Context, conn *sql.Conn, files []lakehouse.FileEntry, local []string, bounds map[int32]span, job Job, test string, args []any, pre prefilter, customer string, from time.Time, res *Result, hold func(release func())) (int64, error) {
	fetchedAgain := make([]bool, len(files))
	for {
		rows, counted, err := r.count(ctx, conn, local, bounds, job, test, args, pre, customer, from, res)
		if err == nil {
			return rows, nil
		}
		if counted {
			return 0, err // res holds part of this query's counts: the job runs again, afresh
		}
		i, err := r.unreadableFile(ctx, conn, files, local, bounds, job, test, args, pre, customer, from, err)
		if i < 0 {
			return 0, err
		}
		f := files[i]
		if fetchedAgain[i] {
			if _, serr := os.Stat(local[i]); errors.Is(serr, fs.ErrNotExist) {
				return 0, fmt.Errorf("%w: %s (partition %d, offsets %d-%d): fetched afresh, its copy was gone again before DuckDB read it: %w", ErrCacheNotKept, f.Path, f.Partition, f.StartOffset, f.EndOffset, err)
			}
			return 0, fmt.Errorf("%w: %s (partition %d, offsets %d-%d): fetched afresh from the lake, DuckDB still cannot read it: the lake object itself is unreadable: %w", ErrUnreadableFile, f.Path, f.Partition, f.StartOffset, f.EndOffset, err)
		}
		fetchedAgain[i] = true
		r.cfg.Logger.Warn("DuckDB cannot read a cached lake file; fetching it again", "file", f.Path, "copy", local[i], "err", err)
		path, release, ferr := fetchHeld(ctx, r.cfg.Lake, r.cfg.CacheDir, f, true)
		if ferr != nil {
			return 0, fmt.Errorf("backfill: fetching %s again after DuckDB could not read its cached copy (%v): %w", f.Path, err, fetchError(f, ferr))
		}
		hold(release)
		local[i] = path
	}
}

// unreadableFile finds, after a failed query over several files, the file DuckDB cannot
// read (querying them one by one), so that it can be fetched again or named to an
// operator, who can see which object to repair or remove. It returns the file's index
// and the error of its query alone; or -1 and the error to return: cause when no single
// file reproduces it (the caller retries the job), or the job's own end.
func (r *Runner) unreadableFile(ctx context.Context, conn *sql.Conn, files []lakehouse.FileEntry, local []string, bounds map[int32]span, job Job, test string, args []any, pre prefilter, customer string, from time.Time, cause error) (int, error) {
	if ctx.Err() != nil || errors.Is(cause, ErrMemoryLimit) || errors.Is(cause, ErrSpillLimit) {
		return -1, cause // the job's memory or spill limit is no file's fault
	}
	for i := range files {
		if _, _, err := r.count(ctx, conn, local[i:i+1], bounds, job, test, args, pre, customer, from, nil); err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrMemoryLimit) || errors.Is(err, ErrSpillLimit) {
				return -1, err // not the file's: fetching it again cures nothing
			}
			return i, err
		}
	}
	return -1, cause
}

// customerAccepted is verdict.CheckCustomer on a row's customer column, in SQL with
// its argument: a record live dead-letters for its key (empty, or longer than
// max_customer_bytes) counts nowhere. The archiver keeps none, but a file written
// before it checked, or under a larger --max-customer-bytes, may hold some: backfill
// and a windowed hand-off's typed reads counted them, live and backtests did not.
// strlen counts bytes, as the limit does; a Parquet string is UTF-8 already.
func customerAccepted() (string, any) {
	return "customer <> '' AND strlen(customer) <= ?", rule.CurrentMaxCustomerBytes()
}

// countQuery builds the per-customer count over local Parquet files' rows within
// bounds (per partition, inclusive offsets), with test the
// verdict on one row (SQL with testArgs). File names are our own cache paths (lake
// object names are validated), quoted as SQL literals; every other value is a bound
// argument.
func countQuery(local []string, bounds map[int32]span, test string, testArgs []any, pre prefilter, customer string, from time.Time) (string, []any) {
	quoted := make([]string, len(local))
	for i, p := range local {
		quoted[i] = "'" + strings.ReplaceAll(p, "'", "''") + "'"
	}
	var where []string
	var args []any
	var within []string
	for _, p := range slices.Sorted(maps.Keys(bounds)) {
		within = append(within, `("partition" = ? AND "offset" BETWEEN ? AND ?)`)
		args = append(args, p, bounds[p].from, bounds[p].to)
	}
	keySQL, keyArg := customerAccepted()
	where = append(where, "("+strings.Join(within, " OR ")+")", keySQL)
	args = append(args, keyArg)
	if customer != "" {
		where = append(where, "customer = ?")
		args = append(args, customer)
	}
	if !from.IsZero() {
		where = append(where, "event_time >= ?")
		args = append(args, from.UTC())
	}
	// The rule's verdict runs only on the rows the WHERE clause keeps, and only where
	// the text can hold the strings the rule needs. Nested CASEs, because DuckDB
	// evaluates both sides of an AND over the whole vector but a CASE branch only on
	// the rows its condition selected: each JSON function call parses the whole
	// document again, so a substring test that rules out most rows first is the
	// largest saving. No json_valid guard: the verdict itself decides validity as live
	// does (see Predicate), and DuckDB's json_valid disagrees with live's (NaN,
	// trailing commas, depth, lone surrogates).
	//
	// Customers come in order of their first matching event (partition, then offset),
	// the order live's counters are made in and Kafka's tail gives them: a bounded job
	// (Result.count) keeps the customers live would, whether the archiver had their
	// events or not (TestMaxCustomersChoiceByLakeOrTail). The customer breaks no tie (a
	// customer's events share a partition), but orders the rows that matched nothing.
	test, testArgs = rowTest(test, testArgs, pre)
	q := fmt.Sprintf(`SELECT customer, "partition",
	  count(*) FILTER (WHERE m) AS matched,
	  min("offset") FILTER (WHERE m) AS first,
	  count(*) AS scanned
	FROM (SELECT customer, "partition", "offset", (%s) AS m FROM read_parquet([%s]) WHERE %s)
	GROUP BY customer, "partition" ORDER BY "partition", first NULLS LAST, customer`, test, strings.Join(quoted, ", "), strings.Join(where, " AND "))
	// Placeholders number in text order: the row test's come first, in the SELECT list.
	return q, append(slices.Clone(testArgs), args...)
}

// rowTest is the verdict on one row: test behind the prefilter, if any.
func rowTest(test string, testArgs []any, pre prefilter) (string, []any) {
	if pre.sql == "" {
		return test, testArgs
	}
	return fmt.Sprintf("CASE WHEN %s THEN %s ELSE false END", pre.sql, test), append(slices.Clone(pre.args), testArgs...)
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
