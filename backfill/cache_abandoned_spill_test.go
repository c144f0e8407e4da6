package backfill

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestCacheBoundCountsAbandonedSpillDirs: every job (Runner.jobDB, MatchingRows.open)
// gives DuckDB a spill directory "duckdb-tmp-*" in the cache directory and removes it
// when the job ends. A process killed (kill -9, OOM) mid-job leaves it, with what
// DuckDB spilled there (up to DuckDB's own max_temp_directory_size, 90% of the disk):
// eviction walks only data/, so the leftover is never removed nor counted, past
// --cache-max-bytes for ever, with nothing said. The leftover here is an hour old, as a
// crashed daemon's would be after a restart, and two jobs and a trim run over it.
func TestCacheBoundCountsAbandonedSpillDirs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := lakehouse.NewMemBucket()
	var files [][]lakehouse.Row
	for i := range 4 {
		files = append(files, LegacyRows(int64(i*2), fmt.Sprintf("c-%d", i), `{"a":"admin"}`, `{"a":"user"}`))
	}
	WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: files})
	lake := lakehouse.NewLake(bkt, nil)
	r, err := rule.ParseRule([]byte(`{"id":"admins","scope":"*","version":1,"threshold":1000000,"when":{"path":"$.a","op":"==","value":"admin"}}`))
	if err != nil {
		t.Fatal(err)
	}
	const maxBytes = 64 << 10
	cases := []struct {
		name  string
		spill string // what DuckDB spilled, in a killed job's directory
	}{
		{"count job killed mid-spill", "duckdb-tmp-1234567890/duckdb_temp_storage_DEFAULT-0.tmp"},
		{"windowed reader killed mid-spill", "duckdb-tmp-987654321/duckdb_temp_block-4611686018427388032.block"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			leftover := filepath.Join(cache, filepath.FromSlash(tc.spill))
			if err := os.MkdirAll(filepath.Dir(leftover), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(leftover, make([]byte, 4*maxBytes), 0o644); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-time.Hour)
			for _, p := range []string{leftover, filepath.Dir(leftover)} {
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
			runner, err := NewRunner(Config{Lake: lake, CacheDir: cache, CacheMaxBytes: maxBytes})
			if err != nil {
				t.Fatal(err)
			}
			defer runner.Close()
			for range 2 { // jobs come and go; each trims the cache before it reads
				if _, err := runner.Run(ctx, Job{Rule: r, Start: map[int32]int64{0: 8}}); err != nil {
					t.Fatal(err)
				}
			}
			runner.TrimCache()
			var total int64
			_ = filepath.WalkDir(cache, func(_ string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if fi, err := d.Info(); err == nil {
						total += fi.Size()
					}
				}
				return nil
			})
			if total > maxBytes {
				ev := evictCache(cache, maxBytes)
				t.Errorf("cache holds %d bytes after jobs and a trim, --cache-max-bytes %d; eviction counts %d bytes of it (a killed job's DuckDB spill directory %s, an hour old, is never removed nor counted)",
					total, maxBytes, ev.Bytes, filepath.Dir(tc.spill))
			}
		})
	}
}
