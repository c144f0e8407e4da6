package backfill

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// The local cache of lake files (Config.CacheDir) is bounded: before a job reads it,
// the oldest files go until it holds at most Config.CacheMaxBytes. Age is the file's
// modification time: when it was fetched, or, for a file linked from a local lake, when
// the lake wrote it. (A cache hit does not touch it: a link shares its times with the
// lake's file, whose age the lake's garbage collection reads.) Files
// DuckDB is about to read or reads (pinned by a job's chunk of files, or MatchingRows'
// file) are not deleted; the others may be, while other files are read. (Eviction had
// waited for no read at all, and jobs that overlapped, two at a time through a queue of
// hand-offs, left the cache growing to the whole lake.) A file DuckDB needs again is
// fetched again.

// DefaultCacheMaxBytes is Config.CacheMaxBytes' default: 10 GiB.
const DefaultCacheMaxBytes = 10 << 30

// cacheDirs holds one cacheDir per cache directory, shared by every Runner and
// MatchingRows of the process that uses it.
var cacheDirs sync.Map // string → *cacheDir

// cacheDir is the files of one cache directory being read (pinned), which eviction
// leaves.
type cacheDir struct {
	mu   sync.Mutex // held by pin, unpin and a whole eviction pass
	pins map[string]int
}

func cacheOf(dir string) *cacheDir {
	c, _ := cacheDirs.LoadOrStore(filepath.Clean(dir), &cacheDir{pins: map[string]int{}})
	return c.(*cacheDir)
}

// pinFiles keeps the local copies of files in dir (where lakehouse.Lake.Fetch puts
// them) from eviction until the returned function is called.
func pinFiles(dir string, files ...lakehouse.FileEntry) (unpin func()) {
	c := cacheOf(dir)
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, filepath.FromSlash(f.Path))
	}
	c.mu.Lock()
	for _, p := range paths {
		c.pins[p]++
	}
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, p := range paths {
				if c.pins[p]--; c.pins[p] <= 0 {
					delete(c.pins, p)
				}
			}
		})
	}
}

// Eviction is what one pass over the cache found and deleted.
type Eviction struct {
	// Files and Bytes are what the cache held, Pinned the files being read, which
	// stay.
	Files, Deleted, Pinned int
	Bytes, Freed           int64
}

// evictCache trims dir's lake files (under data/) to max bytes, oldest first, leaving
// the pinned ones (counted in Pinned).
func evictCache(dir string, max int64) (ev Eviction) {
	c := cacheOf(dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var files []entry
	_ = filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil // a fetch in progress (".fetch-*", ".link-*") is not ours to judge
		}
		if fi, err := d.Info(); err == nil {
			ev.Bytes += fi.Size()
			if c.pins[path] > 0 {
				ev.Pinned++
				return nil
			}
			files = append(files, entry{path, fi.Size(), fi.ModTime()})
		}
		return nil
	})
	ev.Files = len(files) + ev.Pinned
	if ev.Bytes <= max {
		return ev
	}
	slices.SortFunc(files, func(a, b entry) int { return a.used.Compare(b.used) })
	for _, f := range files {
		if ev.Bytes-ev.Freed <= max {
			break
		}
		if os.Remove(f.path) == nil {
			ev.Deleted++
			ev.Freed += f.size
		}
	}
	return ev
}
