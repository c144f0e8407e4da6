package backfill

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
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
