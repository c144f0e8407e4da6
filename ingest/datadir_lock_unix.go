//go:build unix

package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on dir's lock file for the life of the returned
// file (closing it, or the process ending, lets it go): two brokers appending to one
// log hand out the same offsets twice.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ingest: locking the embedded broker's data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (another hindsight live runs on it: stop it, or give this one another --data-dir)", ErrDataDirInUse, dir)
		}
		return nil, fmt.Errorf("ingest: locking the embedded broker's data directory %s: %w", dir, err)
	}
	return f, nil
}

// unlockDataDir lets go of the lock lockDataDir took on f, then closes f. Closing
// alone is not enough: a flock belongs to the open file, which a child process forked
// by another goroutine shares from its fork to its exec, so the lock outlived the
// close meanwhile and a broker started again in this process found its directory in
// use (TestEmbeddedRestartsWhileItsLockFileIsShared). LOCK_UN lets it go for every
// descriptor of the file.
func unlockDataDir(f *os.File) {
	if f == nil {
		return
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) // closing lets it go too, once no child holds the file
	f.Close()
}
