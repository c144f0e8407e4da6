package backfill

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// A job's DuckDB database spills, past its memory limit, into a directory of its own in
// the cache directory ("duckdb-tmp-*": Runner.jobDB, MatchingRows.open; DuckDB's
// default is ./.tmp, wherever the process runs), removed when the job ends. A process
// killed mid-job (kill -9, OOM) leaves it, with whatever DuckDB wrote there. Eviction
// (evictCache) therefore counts every spill directory's bytes as the cache's, and
// deletes one that this process's jobs do not use (cacheDir.spills), that no other
// process's job holds (a shared flock on the directory for the job's life, where flock
// is: cache_unix.go), and in which nothing was written for tempGrace, as it does a
// killed fetch's temporary. (Eviction had walked data/ alone: each crash's spill stayed
// for ever, uncounted, past CacheMaxBytes: TestCacheBoundCountsWhatAKilledProcessLeft.)

// DefaultMaxSpillBytes is Config.MaxSpillBytes' default: 4 GiB per job, four times
// DefaultMemoryLimit, room for a job's sort or aggregation to outgrow its memory a few
// times over; the default two jobs at once (--backfill-concurrency) then spill at most
// 8 GiB together, within the cache's default bound (DefaultCacheMaxBytes), which counts
// their spill and trims lake files to make room. (DuckDB's own, 90% of the free disk per
// database, let two jobs each take the disk the daemon's state shares.)
const DefaultMaxSpillBytes = 4 << 30

// ErrSpillLimit is matched by the error of a job whose DuckDB needed to spill more than
// Config.MaxSpillBytes to disk. Running it again fails again: raise the limit (or the
// memory limit), or narrow the rule.
var ErrSpillLimit = errors.New("backfill: job exceeded its DuckDB spill limit")

// spillSetting is the DuckDB setting that bounds a database's spill to n bytes.
func spillSetting(n int64) string { return fmt.Sprintf("max_temp_directory_size = '%dB'", n) }

// limitSpill bounds what db may spill (n > 0). It is SET once opened: given in the
// connection string, DuckDB reports the bound (current_setting) and does not apply it.
func limitSpill(db *sql.DB, n int64) error {
	if n <= 0 {
		return nil
	}
	if _, err := db.Exec("SET " + spillSetting(n)); err != nil {
		return fmt.Errorf("backfill: DuckDB: bounding its spill: SET %s: %w", spillSetting(n), err)
	}
	return nil
}

// spillLimitError is DuckDB's error for a job that could not spill within its bound,
// said in one line.
type spillLimitError struct {
	limit int64
	err   error
}

func (e *spillLimitError) Error() string {
	first, _, _ := strings.Cut(e.err.Error(), "\n")
	return fmt.Sprintf("job exceeded its spill limit of %s on disk (limit backfill_max_spill_bytes, --backfill-max-spill-bytes): %s", formatBytes(e.limit), first)
}

func (e *spillLimitError) Unwrap() []error { return []error{ErrSpillLimit, e.err} }

// spillPrefix begins the name of every job's spill directory.
const spillPrefix = "duckdb-tmp-"

// newSpillDir makes a job's spill directory in cacheDir and marks it in use until
// release, which removes it.
func newSpillDir(cacheDir string) (dir string, release func(), err error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("backfill: creating cache dir: %w", err)
	}
	c := cacheOf(cacheDir)
	// Made and marked under the lock an eviction pass holds throughout: no pass sees
	// it unmarked.
	c.mu.Lock()
	defer c.mu.Unlock()
	dir, err = os.MkdirTemp(cacheDir, spillPrefix)
	if err != nil {
		return "", nil, fmt.Errorf("backfill: DuckDB spill directory: %w", err)
	}
	dir = filepath.Clean(dir)
	h, err := holdDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	c.spills[dir] = true
	var once sync.Once
	return dir, func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.spills, dir)
			c.mu.Unlock()
			if h != nil {
				h.Close()
			}
			os.RemoveAll(dir)
		})
	}, nil
}

// evictSpills counts the spill directories in dir into ev and deletes those a killed
// process left (see above). The caller holds c.mu.
func evictSpills(c *cacheDir, dir string, stale time.Time, ev *Eviction) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), spillPrefix) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		size, written := dirUsage(path)
		ev.Bytes += size
		if c.spills[path] || !written.Before(stale) {
			continue
		}
		if deleteDirUnheld(path) == deleted {
			ev.Abandoned++
			ev.Deleted++
			ev.Freed += size
		}
	}
}

// dirUsage is the bytes of the files under path and when anything there was last
// written (the directory's own mtime moves as DuckDB creates and deletes its files).
func dirUsage(path string) (size int64, written time.Time) {
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if !d.IsDir() {
			size += fi.Size()
		}
		written = later(written, fi.ModTime())
		return nil
	})
	return size, written
}
