package backfill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// MatchingRows reads, from lake files that carry the typed columns of a rule's
// condition, only the rows the condition keeps, with DuckDB. A windowed rule's state is
// made of its matched events alone (non-matching events move no watermark), so a
// windowed hand-off (backtest.PartitionState) need not parse the rest. The typed form
// gives the Go evaluator's verdict on every row (Predicate.TypedSQL,
// TestTypedColumnsKeepTheVerdict); the caller evaluates the rows in Go all the same.
//
// Where the file also types every path whose value the rule's state takes (group_by,
// the aggregated field, the time path, alert.context), the payload is not read at all: each row comes
// with those values, as our evaluator read them when the event was archived
// (window.Event.Values). A row whose value there is an array or an object (which the
// columns hold the kind of, not the contents) or a number of magnitude 2^53 or more
// (which may be an integer the column's float64 rounded: a 64-bit id) comes with its
// payload instead.
type MatchingRows struct {
	key   string // the rule's SCOPE/ID, which its errors name
	lake  *lakehouse.Lake
	cache string
	mem   int64
	spill int64 // max_temp_directory_size (LimitSpill)
	pred  *Predicate
	// where and args select the rows: the rule's scope and its typed condition.
	where  string
	args   []any
	values []*jsonpath.Path // group_by, aggregate and time paths
	// singular is set when every one of values is singular: columns can hold them.
	singular bool
	db       *sql.DB
	release  func() // of the spill directory (spill.go)
	// trim, when set, is called after every chunkFiles reads (TrimAfterReads).
	trim  func()
	reads int
}

// TrimAfterReads makes Read call trim (the runner's TrimCache) after every 16 files
// it read, as a job does between its chunks: a windowed rule's hand-off over a large
// lake trimmed the cache only as it began, and kept every file it fetched. Read is not
// to be called concurrently then.
func (m *MatchingRows) TrimAfterReads(trim func()) { m.trim = trim }

// NewMatchingRows returns the reader of r's matching rows, local copies of files in
// cacheDir and DuckDB bounded by memoryLimit bytes (0: DuckDB's default); nil when r's
// condition has no typed form.
func NewMatchingRows(r *rule.Rule, lake *lakehouse.Lake, cacheDir string, memoryLimit int64) (*MatchingRows, error) {
	pred, err := Compile(r, "payload")
	if err != nil {
		return nil, err
	}
	if pred.TypedSQL == "" {
		return nil, nil
	}
	// The rows of typed files come with their values, and their customers are checked
	// by nothing after: the query keeps only those live accepts.
	keySQL, keyArg := customerAccepted()
	m := &MatchingRows{key: r.Key().String(), lake: lake, cache: cacheDir, mem: memoryLimit, spill: DefaultMaxSpillBytes, pred: pred,
		where: keySQL + " AND (" + pred.TypedSQL + ")",
		args:  append([]any{keyArg}, pred.TypedArgs...)}
	if r.Scope != rule.GlobalScope {
		// A customer's rule is no other customer's business: the typed condition alone
		// would keep their rows too.
		m.where = "customer = ? AND " + m.where
		m.args = append([]any{r.Scope}, m.args...)
	}
	m.values = append(m.values, r.GroupPaths()...)
	for _, p := range []*jsonpath.Path{r.AggregatePath(), r.TimePath()} {
		if p != nil {
			m.values = append(m.values, p)
		}
	}
	m.values = append(m.values, r.ContextPaths()...) // what its alerts carry
	// A nodelist has no column: then the payload decides.
	m.singular = !slices.ContainsFunc(m.values, func(p *jsonpath.Path) bool { return !p.Singular() })
	return m, nil
}

// LimitSpill bounds what DuckDB may spill to disk for m, in bytes, as
// Config.MaxSpillBytes does a job's (0: DefaultMaxSpillBytes, the bound without a call;
// negative: DuckDB's own). Call it before Read.
func (m *MatchingRows) LimitSpill(n int64) {
	if n == 0 {
		n = DefaultMaxSpillBytes
	}
	m.spill = n
}

// Covers says whether f's typed columns decide the condition.
func (m *MatchingRows) Covers(f lakehouse.FileEntry) bool { return m != nil && m.pred.Typed(f) }

// open starts the DuckDB database at first use, spilling under the cache directory.
func (m *MatchingRows) open() error {
	if m.db != nil {
		return nil
	}
	tmp, release, err := newSpillDir(m.cache)
	if err != nil {
		return err
	}
	q := url.Values{"temp_directory": {tmp}}
	if m.mem > 0 {
		q.Set("memory_limit", fmt.Sprintf("%dB", m.mem))
	}
	db, err := sql.Open("duckdb", "?"+q.Encode())
	if err != nil {
		release()
		return fmt.Errorf("backfill: opening DuckDB: %w", err)
	}
	if err := limitSpill(db, m.spill); err != nil {
		db.Close()
		release()
		return err
	}
	m.db, m.release = db, release
	return nil
}

// Close releases the DuckDB database, if one was opened.
func (m *MatchingRows) Close() {
	if m != nil && m.db != nil {
		m.db.Close()
		m.release()
		m.db = nil
	}
}

// valueColumns returns the typed columns of m.values in f, or false when f lacks one
// (or the rule reads a nodelist there). A rule with no value path needs none.
func (m *MatchingRows) valueColumns(f lakehouse.FileEntry) ([]lakehouse.TypedColumn, bool) {
	if !m.singular {
		return nil, false
	}
	cols := make([]lakehouse.TypedColumn, len(m.values))
	for i, p := range m.values {
		c, ok := f.Column(p.String())
		if !ok || c.Untyped > 0 {
			return nil, false
		}
		cols[i] = c
	}
	return cols, true
}

// Read calls fn, in offset order, with each row of f (which Covers) below offset end
// of the rule's scope that the condition keeps: with the values of the rule's value paths where f types
// them all, else with the payload.
func (m *MatchingRows) Read(ctx context.Context, f lakehouse.FileEntry, end int64, fn func(offset int64, customer string, at time.Time, payload string, values func(*jsonpath.Path) jsonpath.Value) error) error {
	if err := m.open(); err != nil {
		return err
	}
	if m.trim != nil {
		defer func() { // after the unpin below
			if m.reads++; m.reads%chunkFiles == 0 {
				m.trim()
			}
		}()
	}
	defer pinFiles(m.cache, f)() // the file stays while DuckDB reads it
	// Held against other processes' eviction too (see cache.go).
	local, release, err := fetchHeld(ctx, m.lake, m.cache, f, false)
	if err != nil {
		return fetchError(f, err)
	}
	// Rows come in offset order: a read again from a fresh copy passes over those the
	// first read delivered, so that no row is counted twice.
	last := int64(-1)
	deliver := func(off int64, customer string, at time.Time, payload string, values func(*jsonpath.Path) jsonpath.Value) error {
		if off <= last {
			return nil
		}
		last = off
		return fn(off, customer, at, payload, values)
	}
	err = m.readCopy(ctx, f, local, end, deliver)
	release()
	if !errors.Is(err, ErrUnreadableFile) {
		return err
	}
	// The cached copy may be what is damaged (inside, its trailer whole, which Fetch
	// checks): fetched afresh once, as Runner.countFiles does, before the lake object
	// is named unreadable.
	local, release, ferr := fetchHeld(ctx, m.lake, m.cache, f, true)
	if ferr != nil {
		return fmt.Errorf("backfill: fetching %s again after DuckDB could not read its cached copy (%v): %w", f.Path, err, fetchError(f, ferr))
	}
	defer release()
	if err := m.readCopy(ctx, f, local, end, deliver); err != nil {
		if errors.Is(err, ErrUnreadableFile) {
			return fmt.Errorf("fetched afresh from the lake, DuckDB still cannot read it: the lake object itself is unreadable: %w", err)
		}
		return err
	}
	return nil
}

// readCopy reads f's rows from its local copy for Read.
func (m *MatchingRows) readCopy(ctx context.Context, f lakehouse.FileEntry, local string, end int64, fn func(offset int64, customer string, at time.Time, payload string, values func(*jsonpath.Path) jsonpath.Value) error) error {
	if cols, ok := m.valueColumns(f); ok {
		return m.readValues(ctx, f, local, end, cols, fn)
	}
	// The file name is our own cache path, quoted as a literal; the rest are bound.
	q := fmt.Sprintf(`SELECT "offset", customer, epoch_us(event_time), payload FROM read_parquet('%s')
		WHERE "offset" < ? AND %s ORDER BY "offset"`, strings.ReplaceAll(local, "'", "''"), m.where)
	rows, err := m.db.QueryContext(ctx, q, append([]any{end}, m.args...)...)
	if err != nil {
		return m.readError(ctx, f, err)
	}
	defer rows.Close()
	for rows.Next() {
		var off, us int64
		var customer, payload string
		if err := rows.Scan(&off, &customer, &us, &payload); err != nil {
			return m.readError(ctx, f, err)
		}
		if err := fn(off, customer, time.UnixMicro(us).UTC(), payload, nil); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return m.readError(ctx, f, err)
	}
	return nil
}

// readError is the error of DuckDB's read of f: the memory or spill limit's, saying
// which rule's history and which file it was reading (a bare limit error left a rule's
// last_error without the read that hit it), or, unless ctx ended, ErrUnreadableFile
// naming f (one file per query: no other can be at fault).
func (m *MatchingRows) readError(ctx context.Context, f lakehouse.FileEntry, err error) error {
	if le := limitError(err, m.mem, m.spill); le != nil {
		return fmt.Errorf("backfill: reading %s's history from %s (partition %d, offsets %d-%d): %w",
			m.key, f.Path, f.Partition, f.StartOffset, f.EndOffset, le)
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("backfill: reading %s: %w", f.Path, err)
	}
	return fmt.Errorf("%w: %s (partition %d, offsets %d-%d): %w", ErrUnreadableFile, f.Path, f.Partition, f.StartOffset, f.EndOffset, err)
}

// valueRow is a matched row read with its values.
type valueRow struct {
	offset   int64
	customer string
	us       int64
	vals     []jsonpath.Value
	payload  bool // a value the columns cannot give: read the payload
}

// readValues is Read for a file typing every value path: the payload is read only for
// rows with an array, an object or a number of magnitude 2^53 or more at one of them.
func (m *MatchingRows) readValues(ctx context.Context, f lakehouse.FileEntry, local string, end int64, cols []lakehouse.TypedColumn,
	fn func(offset int64, customer string, at time.Time, payload string, values func(*jsonpath.Path) jsonpath.Value) error) error {
	file := "'" + strings.ReplaceAll(local, "'", "''") + "'"
	sel := []string{`"offset"`, "customer", "epoch_us(event_time)"}
	for _, c := range cols {
		sel = append(sel, c.KindCol(), c.NumCol(), c.StrCol())
	}
	q := fmt.Sprintf(`SELECT %s FROM read_parquet(%s) WHERE "offset" < ? AND %s ORDER BY "offset"`, strings.Join(sel, ", "), file, m.where)
	rows, err := m.db.QueryContext(ctx, q, append([]any{end}, m.args...)...)
	if err != nil {
		return m.readError(ctx, f, err)
	}
	var out []valueRow
	var need []string
	kinds := make([]int8, len(cols))
	nums := make([]sql.NullFloat64, len(cols))
	strs := make([]sql.NullString, len(cols))
	dest := []any{nil, nil, nil}
	for i := range cols {
		dest = append(dest, &kinds[i], &nums[i], &strs[i])
	}
	for rows.Next() {
		var vr valueRow
		dest[0], dest[1], dest[2] = &vr.offset, &vr.customer, &vr.us
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return m.readError(ctx, f, err)
		}
		vr.vals = make([]jsonpath.Value, len(cols))
		for i := range cols {
			v, ok := typedValue(kinds[i], nums[i], strs[i])
			if !ok {
				vr.payload = true
				need = append(need, strconv.FormatInt(vr.offset, 10))
				break
			}
			vr.vals[i] = v
		}
		out = append(out, vr)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return m.readError(ctx, f, err)
	}
	rows.Close()
	payloads := map[int64]string{}
	if len(need) > 0 {
		// Offsets are our own integers, written into the query as such.
		prows, err := m.db.QueryContext(ctx, fmt.Sprintf(`SELECT "offset", payload FROM read_parquet(%s) WHERE "offset" IN (%s)`, file, strings.Join(need, ",")))
		if err != nil {
			return m.readError(ctx, f, err)
		}
		for prows.Next() {
			var off int64
			var p string
			if err := prows.Scan(&off, &p); err != nil {
				prows.Close()
				return m.readError(ctx, f, err)
			}
			payloads[off] = p
		}
		err = prows.Err()
		prows.Close()
		if err != nil {
			return m.readError(ctx, f, err)
		}
	}
	var cur []jsonpath.Value
	values := func(p *jsonpath.Path) jsonpath.Value {
		for i, q := range m.values {
			if q == p || q.String() == p.String() {
				return cur[i]
			}
		}
		return jsonpath.Value{}
	}
	for _, vr := range out {
		at := time.UnixMicro(vr.us).UTC()
		var err error
		if vr.payload {
			err = fn(vr.offset, vr.customer, at, payloads[vr.offset], nil)
		} else {
			cur = vr.vals
			err = fn(vr.offset, vr.customer, at, "", values)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// typedValue is the value a typed column's row holds, as our evaluator read it; false
// for what the columns hold only the kind of (arrays, objects), a number of magnitude
// 2^53 or more (±Inf from an overflowing literal included), or an untyped string.
func typedValue(kind int8, num sql.NullFloat64, str sql.NullString) (jsonpath.Value, bool) {
	var x any
	switch kind {
	case lakehouse.TypedAbsent:
		return jsonpath.Value{}, true
	case lakehouse.TypedNull:
		x = nil
	case lakehouse.TypedFalse:
		x = false
	case lakehouse.TypedTrue:
		x = true
	case lakehouse.TypedNumber:
		// From 2^53 on, a float64 may be the rounding of an integer the payload spells
		// exactly (a 64-bit id), which group keys and distinct values tell apart by its
		// digits (window.AppendValueKey): the column cannot say which, the payload can.
		if !num.Valid || math.IsNaN(num.Float64) || math.Abs(num.Float64) >= 1<<53 {
			return jsonpath.Value{}, false
		}
		x = num.Float64
	case lakehouse.TypedString:
		if !str.Valid {
			return jsonpath.Value{}, false
		}
		x = str.String
	default:
		return jsonpath.Value{}, false
	}
	v, err := jsonpath.ValueOf(x)
	return v, err == nil
}
