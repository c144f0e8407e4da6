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
