package backfill

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestEvictCache: the least recently used lake files go until the cache is under its
// bound; fetches in progress are left alone; nothing goes while a reader holds the
// cache.
func TestEvictCache(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	write := func(name string, size int, age time.Duration) string {
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
	oldest := write("a.parquet", 400, 3*time.Minute)
	older := write("b.parquet", 300, 2*time.Minute)
	recent := write("c.parquet", 200, time.Minute)
	inflight := write(".fetch-123", 1000, 10*time.Minute)

	l := cacheLock(dir)
	l.RLock()
	if _, ok := evictCache(dir, 100); ok {
		t.Error("evicted while a reader held the cache")
	}
	l.RUnlock()

	ev, ok := evictCache(dir, 499)
	if !ok || ev.Files != 3 || ev.Bytes != 900 || ev.Deleted != 2 || ev.Freed != 700 {
		t.Errorf("eviction %+v (%v); want 3 files of 900 bytes, the 2 oldest (700 bytes) deleted", ev, ok)
	}
	for p, want := range map[string]bool{oldest: false, older: false, recent: true, inflight: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s present %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	if ev, ok := evictCache(dir, 499); !ok || ev.Deleted != 0 {
		t.Errorf("second pass %+v: nothing more to delete", ev)
	}
}
