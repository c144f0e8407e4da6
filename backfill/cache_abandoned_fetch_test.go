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

// TestCacheBoundCountsAbandonedFetches: a process killed (kill -9, OOM) while
// lakehouse.Lake.Fetch downloads a lake file into the cache leaves its ".fetch-*"
// temporary behind: nothing renames or removes it any more. Eviction skips every
// dot file as "a fetch in progress", whatever its age, and does not count its bytes,
// so each crash leaves up to a whole file's size in --cache-dir for ever, past
// --cache-max-bytes, with nothing said (Eviction.Bytes leaves it out). The leftover
// here is an hour old, as a crashed daemon's would be after a restart.
func TestCacheBoundCountsAbandonedFetches(t *testing.T) {
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
		name string
		temp string
	}{
		{"download killed mid-fetch", ".fetch-1234567890"},
		{"link killed before rename", ".link-1234567890"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			// What a killed process left: a partial download of a large file.
			leftover := filepath.Join(cache, "data", "p=0000", "h=2026-01-01T00", tc.temp)
			if err := os.MkdirAll(filepath.Dir(leftover), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(leftover, make([]byte, 4*maxBytes), 0o644); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(leftover, old, old); err != nil {
				t.Fatal(err)
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
				t.Errorf("cache holds %d bytes after jobs and a trim, --cache-max-bytes %d; eviction counts %d bytes of it (a killed fetch's %s, an hour old, is never removed nor counted)",
					total, maxBytes, ev.Bytes, tc.temp)
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
