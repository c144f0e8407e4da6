package backfill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

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
//
// The cache may be shared by processes: `hindsight backfill --cache-dir` defaults to
// hindsight live's, and each trims it. A pin is therefore two things: a count in this
// process's table (cacheDirs), taken before the fetch, which this process's eviction
// reads; and, where flock(2) is (cache_unix.go), a shared flock on each fetched copy,
// an open descriptor held until unpin, which every process's eviction respects: it
// deletes a file only under an exclusive flock taken without waiting, and leaves a file
// it cannot lock. A copy deleted between its fetch and the flock is noticed (the
// locked file is no longer the one at its path) and fetched again (fetchHeld). Where
// there is no flock (cache_other.go) pins are this process's alone, as they were: two
// processes sharing a cache directory there may delete each other's files mid-read.
// As a last line, a chunk's query that fails on one file fetches that file afresh and
// runs again (Runner.countFiles), so that a copy lost or damaged in the cache does not
// fail a job over a healthy lake.
//
// A fetch writes its copy to a temporary beside it (".fetch-*", ".link-*": see
// lakehouse.Lake.Fetch) and renames it; a process killed meanwhile leaves the
// temporary, which nothing else removes. Eviction counts every temporary's bytes
// (they are the cache's), and deletes those unwritten for tempGrace, as lakehouse's
// removeStaleTemps does its own: a fetch in progress writes, which moves the mtime, and
// a link's temporary lives between a link and a rename. (Skipping every temporary as
// in progress, whatever its age, left each crash's partial download in the cache for
// ever, uncounted, past CacheMaxBytes: TestCacheBoundCountsWhatAKilledProcessLeft.)

// DefaultCacheMaxBytes is Config.CacheMaxBytes' default: 10 GiB.
const DefaultCacheMaxBytes = 10 << 30

// cacheDirs holds one cacheDir per cache directory, shared by every Runner and
// MatchingRows of the process that uses it.
var cacheDirs sync.Map // string → *cacheDir

// cacheDir is the files of one cache directory being read (pinned), which eviction
// leaves.
type cacheDir struct {
	mu   sync.Mutex // held by pin, unpin, newSpillDir and a whole eviction pass
	pins map[string]int
	// spills are this process's jobs' spill directories (spill.go), which eviction
	// counts and leaves.
	spills map[string]bool
}

func cacheOf(dir string) *cacheDir {
	c, _ := cacheDirs.LoadOrStore(filepath.Clean(dir), &cacheDir{pins: map[string]int{}, spills: map[string]bool{}})
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

// holdTries bounds how often fetchHeld fetches a copy that other processes' eviction
// deleted between the fetch and the hold: only a cache trimmed to almost nothing
// loses a fresh copy (the newest file, evicted last) more than once.
const holdTries = 5

// fetchHeld fetches f into dir (lakehouse.Lake.Fetch, or FetchAgain when again) and
// holds its copy against every process's eviction (holdCopy) until release is called.
// The caller pins f first (pinFiles), which keeps this process's eviction off it with or
// without flock. A copy gone before the hold is fetched again; after holdTries
// the error is ErrCacheNotKept.
func fetchHeld(ctx context.Context, lake *lakehouse.Lake, dir string, f lakehouse.FileEntry, again bool) (local string, release func(), err error) {
	fetch := lake.Fetch
	if again {
		fetch = lake.FetchAgain
	}
	type held struct {
		local string
		h     io.Closer
	}
	// No wait between tries: the copy was deleted, not refused; fetching it again at
	// once is what wins the race against an eviction pass.
	got, err := backoff.Retry(ctx, func() (held, error) {
		local, err := fetch(ctx, f, dir)
		if err != nil {
			return held{}, backoff.Permanent(err)
		}
		fetch = lake.Fetch // a fresh copy gone: any copy now at the path is as fresh
		h, err := holdCopy(local)
		if err != nil && !errors.Is(err, errCopyGone) {
			return held{}, backoff.Permanent(err)
		}
		return held{local, h}, err
	}, backoff.WithBackOff(&backoff.ZeroBackOff{}), backoff.WithMaxTries(holdTries), backoff.WithMaxElapsedTime(0))
	switch {
	case errors.Is(err, errCopyGone):
		return "", nil, fmt.Errorf("%w: %s: its copy was deleted between fetch and hold %d times (another process trimming the cache to almost nothing?)", ErrCacheNotKept, f.Path, holdTries)
	case err != nil:
		return "", nil, err
	}
	return got.local, func() {
		if got.h != nil {
			got.h.Close()
		}
	}, nil
}

// errCopyGone: the cached copy holdCopy locked is no longer the file at its path
// (another process's eviction deleted it, or a fetch replaced it).
var errCopyGone = errors.New("backfill: the cached copy is gone")

// Eviction is what one pass over the cache found and deleted.
type Eviction struct {
	// Files and Bytes are what the cache held, Pinned the files being read, which
	// stay: pinned in this process, or held by a reader of any process (found only
	// for the files the pass tried to delete). Bytes counts the fetches' temporaries
	// and the jobs' spill directories too (spill.go); Abandoned are those deleted as a
	// killed fetch's or job's (tempGrace), also counted in Deleted and Freed.
	Files, Deleted, Pinned, Abandoned int
	Bytes, Freed                      int64
}

// tempGrace is how long a fetch's temporary may go unwritten before eviction takes it
// for a killed process's. A download in progress writes far more often (each write
// moves the mtime); a stalled one this long has failed, and a fetch whose temporary
// is deleted under it fails (its copy's checks, or its rename), and its job's read of
// the file with it. The same hour as
// lakehouse's default OrphanGrace, which judges the lake's own temporaries.
const tempGrace = time.Hour

// tempWritten is when the fetch temporary named name, with info fi, was last written,
// and whether name is one (lakehouse.Lake.Fetch's names). A ".link-<ns>" temporary
// shares the lake file's mtime, which may be old: its name says when it was made.
func tempWritten(name string, fi fs.FileInfo) (time.Time, bool) {
	switch {
	case strings.HasPrefix(name, ".fetch-"):
		return fi.ModTime(), true
	case strings.HasPrefix(name, ".link-"):
		at := fi.ModTime()
		if ns, err := strconv.ParseInt(strings.TrimPrefix(name, ".link-"), 10, 64); err == nil {
			at = later(at, time.Unix(0, ns))
		}
		return at, true
	}
	return time.Time{}, false
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// evictCache trims dir's lake files (under data/) to max bytes, oldest first, leaving
// the pinned ones and those another process's reader holds (counted in Pinned). The
// jobs' spill directories count toward max; a killed job's is deleted (spill.go).
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
	stale := time.Now().Add(-tempGrace)
	evictSpills(c, filepath.Clean(dir), stale, &ev)
	_ = filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			written, ok := tempWritten(d.Name(), fi)
			if !ok {
				return nil // not a lake file, nor a fetch's temporary: not ours
			}
			ev.Bytes += fi.Size()
			if written.Before(stale) && os.Remove(path) == nil {
				ev.Abandoned++
				ev.Deleted++
				ev.Freed += fi.Size()
			}
			return nil
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
		switch deleteUnheld(f.path) {
		case deleted:
			ev.Deleted++
			ev.Freed += f.size
		case held:
			ev.Pinned++
		}
	}
	return ev
}

// deleteOutcome is what deleteUnheld did with a file.
type deleteOutcome int

const (
	left    deleteOutcome = iota // gone already, replaced, or not ours to delete
	deleted                      // deleted
	held                         // a reader holds it (holdCopy)
)
