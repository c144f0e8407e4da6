package backfill

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestEvictCacheStopsAtTheBound: a cache left holding exactly CacheMaxBytes once the
// oldest file goes is within its bound: the next file stays. (Mutation hunt:
// evictCache's ev.Bytes-ev.Freed <= max -> < max deleted it too, and no test saw it.)
func TestEvictCacheStopsAtTheBound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := cacheFileWriter(t, dir)
	oldest := write("a.parquet", 400, 3*time.Minute)
	older := write("b.parquet", 300, 2*time.Minute)
	recent := write("c.parquet", 200, time.Minute)
	if ev := evictCache(dir, 500); ev.Files != 3 || ev.Bytes != 900 || ev.Deleted != 1 || ev.Freed != 400 {
		t.Errorf("eviction to 500 bytes of 900: %+v; want a.parquet alone (400 bytes) deleted, leaving 500", ev)
	}
	for p, want := range map[string]bool{oldest: false, older: true, recent: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s present %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
