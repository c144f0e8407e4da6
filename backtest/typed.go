package backtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// typedReader reads, from lake files that carry the typed columns of a rule's
// condition, only the rows the condition keeps, with DuckDB: a windowed rule's state
// is made of its matched events alone (non-matching events move no watermark), so the
// rest need not be parsed. The condition's typed form gives the Go evaluator's verdict
// on every row (backfill.Predicate, TestTypedColumnsKeepTheVerdict); the rows read are
// evaluated again in Go all the same.
type typedReader struct {
	cfg  Config
	pred *backfill.Predicate
	db   *sql.DB
	tmp  string
}

// newTypedReader returns nil when r's condition has no typed form or cfg no cache.
func newTypedReader(cfg Config, r *rule.Rule) (*typedReader, error) {
	if cfg.CacheDir == "" {
		return nil, nil
	}
	pred, err := backfill.Compile(r, "payload")
	if err != nil {
		return nil, fmt.Errorf("backtest: compiling %s: %w", r.Key(), err)
	}
	if pred.TypedSQL == "" {
		return nil, nil
	}
	return &typedReader{cfg: cfg, pred: pred}, nil
}

// covers says whether f's typed columns decide the condition.
func (t *typedReader) covers(f lakehouse.FileEntry) bool { return t != nil && t.pred.Typed(f) }

// open starts the DuckDB database at first use: a spill directory under the cache and
// the memory bound asked for.
func (t *typedReader) open() error {
	if t.db != nil {
		return nil
	}
	if err := os.MkdirAll(t.cfg.CacheDir, 0o755); err != nil {
		return fmt.Errorf("backtest: cache directory: %w", err)
	}
	tmp, err := os.MkdirTemp(t.cfg.CacheDir, "duckdb-tmp-")
	if err != nil {
		return fmt.Errorf("backtest: DuckDB spill directory: %w", err)
	}
	q := url.Values{"temp_directory": {tmp}}
	if t.cfg.MemoryLimit > 0 {
		q.Set("memory_limit", fmt.Sprintf("%dB", t.cfg.MemoryLimit))
	}
	db, err := sql.Open("duckdb", "?"+q.Encode())
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("backtest: opening DuckDB: %w", err)
	}
	t.db, t.tmp = db, tmp
	return nil
}

func (t *typedReader) close() {
	if t != nil && t.db != nil {
		t.db.Close()
		os.RemoveAll(t.tmp)
	}
}

// matching calls fn, in offset order, with each row of f below end (0: all) that the
// condition keeps.
func (t *typedReader) matching(ctx context.Context, f lakehouse.FileEntry, end int64, fn func(offset int64, customer string, at time.Time, payload string) error) error {
	if err := t.open(); err != nil {
		return err
	}
	local, err := t.cfg.Lake.Fetch(ctx, f, t.cfg.CacheDir)
	if err != nil {
		return fmt.Errorf("backtest: fetching %s: %w", f.Path, err)
	}
	if end <= 0 {
		end = f.EndOffset + 1
	}
	// The file name is our own cache path, quoted as a literal; the rest are bound.
	q := fmt.Sprintf(`SELECT "offset", customer, epoch_us(event_time), payload FROM read_parquet('%s')
		WHERE "offset" < ? AND %s ORDER BY "offset"`, strings.ReplaceAll(local, "'", "''"), t.pred.TypedSQL)
	rows, err := t.db.QueryContext(ctx, q, append([]any{end}, t.pred.TypedArgs...)...)
	if err != nil {
		return fmt.Errorf("backtest: reading %s: %w", f.Path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var off, us int64
		var customer, payload string
		if err := rows.Scan(&off, &customer, &us, &payload); err != nil {
			return fmt.Errorf("backtest: reading %s: %w", f.Path, err)
		}
		if err := fn(off, customer, time.UnixMicro(us).UTC(), payload); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("backtest: reading %s: %w", f.Path, err)
	}
	return nil
}
