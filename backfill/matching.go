package backfill

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// MatchingRows reads, from lake files that carry the typed columns of a rule's
// condition, only the rows the condition keeps, with DuckDB. A windowed rule's state is
// made of its matched events alone (non-matching events move no watermark), so a
// windowed hand-off (backtest.PartitionState) need not parse the rest. The typed form
// gives the Go evaluator's verdict on every row (Predicate.TypedSQL,
// TestTypedColumnsKeepTheVerdict); the caller evaluates the rows in Go all the same.
type MatchingRows struct {
	lake  *lakehouse.Lake
	cache string
	mem   int64
	pred  *Predicate
	db    *sql.DB
	tmp   string
}

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
	return &MatchingRows{lake: lake, cache: cacheDir, mem: memoryLimit, pred: pred}, nil
}

// Covers says whether f's typed columns decide the condition.
func (m *MatchingRows) Covers(f lakehouse.FileEntry) bool { return m != nil && m.pred.Typed(f) }

// open starts the DuckDB database at first use, spilling under the cache directory.
func (m *MatchingRows) open() error {
	if m.db != nil {
		return nil
	}
	if err := os.MkdirAll(m.cache, 0o755); err != nil {
		return fmt.Errorf("backfill: cache directory: %w", err)
	}
	tmp, err := os.MkdirTemp(m.cache, "duckdb-tmp-")
	if err != nil {
		return fmt.Errorf("backfill: DuckDB spill directory: %w", err)
	}
	q := url.Values{"temp_directory": {tmp}}
	if m.mem > 0 {
		q.Set("memory_limit", fmt.Sprintf("%dB", m.mem))
	}
	db, err := sql.Open("duckdb", "?"+q.Encode())
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("backfill: opening DuckDB: %w", err)
	}
	m.db, m.tmp = db, tmp
	return nil
}

// Close releases the DuckDB database, if one was opened.
func (m *MatchingRows) Close() {
	if m != nil && m.db != nil {
		m.db.Close()
		os.RemoveAll(m.tmp)
		m.db = nil
	}
}

// Read calls fn, in offset order, with each row of f (which Covers) below offset end
// that the condition keeps.
func (m *MatchingRows) Read(ctx context.Context, f lakehouse.FileEntry, end int64, fn func(offset int64, customer string, at time.Time, payload string) error) error {
	if err := m.open(); err != nil {
		return err
	}
	local, err := m.lake.Fetch(ctx, f, m.cache)
	if err != nil {
		return fmt.Errorf("backfill: fetching %s: %w", f.Path, err)
	}
	// The file name is our own cache path, quoted as a literal; the rest are bound.
	q := fmt.Sprintf(`SELECT "offset", customer, epoch_us(event_time), payload FROM read_parquet('%s')
		WHERE "offset" < ? AND %s ORDER BY "offset"`, strings.ReplaceAll(local, "'", "''"), m.pred.TypedSQL)
	rows, err := m.db.QueryContext(ctx, q, append([]any{end}, m.pred.TypedArgs...)...)
	if err != nil {
		return fmt.Errorf("backfill: reading %s: %w", f.Path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var off, us int64
		var customer, payload string
		if err := rows.Scan(&off, &customer, &us, &payload); err != nil {
			return fmt.Errorf("backfill: reading %s: %w", f.Path, err)
		}
		if err := fn(off, customer, time.UnixMicro(us).UTC(), payload); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("backfill: reading %s: %w", f.Path, err)
	}
	return nil
}
