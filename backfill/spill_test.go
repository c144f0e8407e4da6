package backfill

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestSpillDirInUseStays: a job's spill directory unwritten for longer than tempGrace
// (a long job that spilled early) is counted and left while the job runs, and removed
// when it ends.
func TestSpillDirInUseStays(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	runner, err := NewRunner(Config{Lake: lakehouse.NewLake(lakehouse.NewMemBucket(), nil), CacheDir: cache, CacheMaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, done, err := runner.jobDB()
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(cache, spillPrefix+"*"))
	if len(dirs) != 1 {
		t.Fatalf("spill directories %v; want one", dirs)
	}
	spilled := filepath.Join(dirs[0], "duckdb_temp_storage_DEFAULT-0.tmp")
	if err := os.WriteFile(spilled, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * tempGrace)
	for _, p := range []string{spilled, dirs[0]} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	ev := evictCache(cache, 1)
	if _, err := os.Stat(spilled); err != nil || ev.Bytes != 1000 || ev.Abandoned != 0 {
		t.Errorf("while the job runs: %v, eviction %+v; want its spill kept and its 1000 bytes counted", err, ev)
	}
	done()
	if _, err := os.Stat(dirs[0]); !os.IsNotExist(err) {
		t.Errorf("after the job: %v; want its spill directory gone", err)
	}
}

// TestJobSpillLimitReached: a job's DuckDB that must spill more than MaxSpillBytes
// (MatchingRows.LimitSpill) fails with ErrSpillLimit, in one line naming the flag, not
// with the memory limit's error: the bound is applied, not only reported.
func TestJobSpillLimitReached(t *testing.T) {
	t.Parallel()
	lake := lakehouse.NewLake(lakehouse.NewMemBucket(), nil)
	const query = `SELECT max(rn) FROM (SELECT row_number() OVER (ORDER BY s) rn FROM
		(SELECT md5(i::VARCHAR) || md5((i+1)::VARCHAR) s FROM range(5000000) t(i)))`
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir(), MemoryLimit: 64 << 20, MaxSpillBytes: 1 << 20, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	db, done, err := runner.jobDB()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	var n int64
	err = runner.duckError(db.QueryRow(query).Scan(&n))
	if !errors.Is(err, ErrSpillLimit) || errors.Is(err, ErrMemoryLimit) || !strings.Contains(err.Error(), "--backfill-max-spill-bytes") ||
		!strings.Contains(err.Error(), "1 MiB") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a job spilling past 1 MiB: %q; want ErrSpillLimit in one line naming --backfill-max-spill-bytes and 1 MiB", err)
	}
}

// TestWindowedReaderSpillLimitReached: a windowed rule's hand-off reads its history
// through MatchingRows, whose DuckDB carries --backfill-max-spill-bytes by LimitSpill
// (live/handoff.go). Spilling past it fails with ErrSpillLimit naming the flag and the
// limit given, not the memory limit's size, and saying which read hit it. (Only
// TestJobSpillLimitReached's count job was tried: a reader that kept the default 4 GiB,
// or named the memory limit's size as the spill limit, passed.)
func TestWindowedReaderSpillLimitReached(t *testing.T) {
	t.Parallel()
	lake := lakehouse.NewLake(lakehouse.NewMemBucket(), nil)
	r, err := rule.ParseRule([]byte(`{"id":"w","scope":"*","version":1,"group_by":["$.user"],"window":{"size":"10m"},"time":"$.ts","threshold":5,"when":{"path":"$.kind","op":"==","value":"fail"}}`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatchingRows(r, lake, t.TempDir(), 64<<20)
	if err != nil || m == nil {
		t.Fatalf("NewMatchingRows: %v, %v", m, err)
	}
	defer m.Close()
	m.LimitSpill(1 << 20)
	if err := m.open(); err != nil {
		t.Fatal(err)
	}
	// A sort that must spill far past 1 MiB under 64 MiB of memory, in the reader's own
	// database, its error taken as a failed read's (readError).
	const query = `SELECT max(rn) FROM (SELECT row_number() OVER (ORDER BY s) rn FROM
		(SELECT md5(i::VARCHAR) || md5((i+1)::VARCHAR) s FROM range(5000000) t(i)))`
	var n int64
	qerr := m.db.QueryRow(query).Scan(&n)
	if qerr == nil {
		t.Fatalf("a sort of 5M rows under 64 MiB of memory and 1 MiB of spill succeeded (max %d): the reader's spill is not bounded by LimitSpill", n)
	}
	f := lakehouse.FileEntry{Path: "data/p=0000/f.parquet", Partition: 0, StartOffset: 10, EndOffset: 20}
	err = m.readError(context.Background(), f, qerr)
	if !errors.Is(err, ErrSpillLimit) || errors.Is(err, ErrMemoryLimit) || !strings.Contains(err.Error(), "--backfill-max-spill-bytes") ||
		!strings.Contains(err.Error(), "1 MiB") || !strings.Contains(err.Error(), f.Path) || strings.Contains(err.Error(), "\n") {
		t.Errorf("a windowed reader spilling past 1 MiB: %q; want ErrSpillLimit in one line naming --backfill-max-spill-bytes, 1 MiB and %s", err, f.Path)
	}
}
