package backfill

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestEvictCache: the least recently used lake files go until the cache is under its
// bound; fetches in progress are left alone, and so are the files being read (pinned),
// while the others go: eviction had waited for no read at all, and overlapping jobs
// left the cache growing to the whole lake.
func TestEvictCache(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := cacheFileWriter(t, dir)
	oldest := write("a.parquet", 400, 3*time.Minute)
	older := write("b.parquet", 300, 2*time.Minute)
	recent := write("c.parquet", 200, time.Minute)
	// A fetch in progress: written now (one an hour unwritten is a killed process's,
	// which eviction deletes: TestCacheBoundCountsWhatAKilledProcessLeft). Its bytes count.
	inflight := write(".fetch-123", 1000, 0)
	if now := time.Now(); os.Chtimes(inflight, now, now) != nil {
		t.Fatal("touching the fetch in progress")
	}

	// A job reads the oldest file (twice over: two readers), the others may go.
	unpin := pinFiles(dir, lakehouse.FileEntry{Path: "data/p=0000/a.parquet"})
	unpin2 := pinFiles(dir, lakehouse.FileEntry{Path: "data/p=0000/a.parquet"})
	if ev := evictCache(dir, 100); ev.Files != 3 || ev.Pinned != 1 || ev.Deleted != 2 || ev.Freed != 500 {
		t.Errorf("eviction while a.parquet is read: %+v; want the 2 others (500 bytes) deleted, 1 pinned", ev)
	}
	if _, err := os.Stat(oldest); err != nil {
		t.Errorf("the file being read was deleted: %v", err)
	}
	unpin()
	unpin() // once only
	if ev := evictCache(dir, 100); ev.Deleted != 0 || ev.Pinned != 1 {
		t.Errorf("with one reader left: %+v; want the file kept", ev)
	}
	unpin2()
	ev := evictCache(dir, 100)
	if ev.Files != 1 || ev.Bytes != 1400 || ev.Deleted != 1 || ev.Pinned != 0 {
		t.Errorf("eviction once read: %+v; want a.parquet deleted", ev)
	}

	// Oldest first, down to the bound.
	oldest = write("a.parquet", 400, 3*time.Minute)
	older = write("b.parquet", 300, 2*time.Minute)
	recent = write("c.parquet", 200, time.Minute)
	ev = evictCache(dir, 1499)
	if ev.Files != 3 || ev.Bytes != 1900 || ev.Deleted != 2 || ev.Freed != 700 {
		t.Errorf("eviction %+v; want 3 files of 900 bytes and the fetch's 1000, the 2 oldest (700 bytes) deleted", ev)
	}
	for p, want := range map[string]bool{oldest: false, older: false, recent: true, inflight: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s present %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	if ev := evictCache(dir, 1499); ev.Deleted != 0 {
		t.Errorf("second pass %+v: nothing more to delete", ev)
	}
	if n := len(cacheOf(dir).pins); n != 0 {
		t.Errorf("%d pins left", n)
	}
}

// cacheFileWriter writes files of the lake's layout into the cache dir, each last used
// age before an hour ago, and returns their paths.
func cacheFileWriter(t *testing.T, dir string) func(name string, size int, age time.Duration) string {
	t.Helper()
	base := time.Now().Add(-time.Hour)
	return func(name string, size int, age time.Duration) string {
		p := filepath.Join(dir, "data", "p=0000", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		at := base.Add(-age)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
		return p
	}
}
