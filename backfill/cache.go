package backfill

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// The local cache of lake files (Config.CacheDir) is bounded: before a job reads it,
// the oldest files go until it holds at most Config.CacheMaxBytes. Age is the file's
// modification time: when it was fetched, or, for a file linked from a local lake, when
// the lake wrote it. (A cache hit does not touch it: a link shares its times with the
// lake's file, whose age the lake's garbage collection reads.) Files
// are only deleted while no job or MatchingRows of this process reads the cache: a
// read holds its directory's lock shared, eviction tries it exclusively and, when busy,
// leaves it for the next job. A file DuckDB needs again is fetched again.

// DefaultCacheMaxBytes is Config.CacheMaxBytes' default: 10 GiB.
const DefaultCacheMaxBytes = 10 << 30

// cacheLocks holds one lock per cache directory, shared by every Runner and
// MatchingRows of the process that uses it.
var cacheLocks sync.Map // string → *sync.RWMutex

func cacheLock(dir string) *sync.RWMutex {
	l, _ := cacheLocks.LoadOrStore(filepath.Clean(dir), &sync.RWMutex{})
	return l.(*sync.RWMutex)
}

// Eviction is what one pass over the cache found and deleted.
type Eviction struct {
	Files, Deleted int
	Bytes, Freed   int64
}

// evictCache trims dir's lake files (under data/) to max bytes, oldest first. ok is
// false when the cache was in use, and nothing was looked at.
func evictCache(dir string, max int64) (ev Eviction, ok bool) {
	l := cacheLock(dir)
	if !l.TryLock() {
		return ev, false
	}
	defer l.Unlock()
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
			files = append(files, entry{path, fi.Size(), fi.ModTime()})
			ev.Bytes += fi.Size()
		}
		return nil
	})
	ev.Files = len(files)
	if ev.Bytes <= max {
		return ev, true
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
	return ev, true
}
