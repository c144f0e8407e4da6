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
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestCacheBoundCountsWhatAKilledProcessLeft: a process killed (kill -9, OOM) mid-job
// leaves in the cache directory what it was writing, which nothing renames or removes
// any more: lakehouse.Lake.Fetch's ".fetch-*" download or ".link-*" before its rename,
// and the job's DuckDB spill directory "duckdb-tmp-*" (Runner.jobDB, MatchingRows.open)
// with what DuckDB spilled there. Eviction skipped dot files as "a fetch in progress"
// and walked only data/, so each was never removed nor counted (Eviction.Bytes left it
// out), past --cache-max-bytes for ever, with nothing said. The leftover here is an
// hour old, as a crashed daemon's would be after a restart, and two jobs and a trim
// run over it.
func TestCacheBoundCountsWhatAKilledProcessLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt := lakehouse.NewMemBucket()
	var files [][]lakehouse.Row
	for i := range 4 {
		files = append(files, lakehousetest.LegacyRows(int64(i*2), fmt.Sprintf("c-%d", i), `{"a":"admin"}`, `{"a":"user"}`))
	}
	lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: files})
	lake := lakehouse.NewLake(bkt, nil)
	r, err := rule.ParseRule([]byte(`{"id":"admins","scope":"*","version":1,"threshold":1000000,"when":{"path":"$.a","op":"==","value":"admin"}}`))
	if err != nil {
		t.Fatal(err)
	}
	const maxBytes = 64 << 10
	cases := []struct {
		name     string
		leftover string // what the killed process was writing, below the cache directory
	}{
		{"download killed mid-fetch", "data/p=0000/h=2026-01-01T00/.fetch-1234567890"},
		{"link killed before rename", "data/p=0000/h=2026-01-01T00/.link-1234567890"},
		{"count job killed mid-spill", "duckdb-tmp-1234567890/duckdb_temp_storage_DEFAULT-0.tmp"},
		{"windowed reader killed mid-spill", "duckdb-tmp-987654321/duckdb_temp_block-4611686018427388032.block"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			leftover := filepath.Join(cache, filepath.FromSlash(tc.leftover))
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
				t.Errorf("cache holds %d bytes after jobs and a trim, --cache-max-bytes %d; eviction counts %d bytes of it (%s, an hour old, is never removed nor counted)",
					total, maxBytes, ev.Bytes, tc.leftover)
			}
		})
	}
}

// TestCacheKeepsAFetchInProgress: eviction never takes a temporary a fetch is writing:
// a ".fetch-*" written just now, and a ".link-<ns>" made just now whose mtime is the
// lake file's, hours old (a link shares it). Both are counted.
func TestCacheKeepsAFetchInProgress(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	dir := filepath.Join(cache, "data", "p=0000", "h=2026-01-01T00")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fetch := filepath.Join(dir, ".fetch-42")
	link := filepath.Join(dir, fmt.Sprintf(".link-%d", time.Now().UnixNano()))
	for _, p := range []string{fetch, link} {
		if err := os.WriteFile(p, make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(link, old, old); err != nil {
		t.Fatal(err)
	}
	ev := evictCache(cache, 1<<20)
	for _, p := range []string{fetch, link} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s, in progress, was taken by eviction: %v", filepath.Base(p), err)
		}
	}
	if ev.Bytes != 200 || ev.Abandoned != 0 {
		t.Errorf("eviction counted %d bytes, %d abandoned; want 200 bytes of the two temporaries, none abandoned", ev.Bytes, ev.Abandoned)
	}
}
