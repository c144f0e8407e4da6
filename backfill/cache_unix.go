//go:build unix

package backfill

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// holdCopy opens the cached copy at path and takes a shared flock on it, kept until the
// returned file is closed: every process's eviction (deleteUnheld) leaves a file so
// held. flock locks belong to the open file description, so this holds against another
// process and against another reader of this one alike. It returns errCopyGone when the
// file it locked is no longer the one at path: an evictor unlinked it after the fetch
// and before the lock (its link count is then 0, or the path names another file or
// none), or a fetch replaced it; the caller fetches again.
func holdCopy(path string) (io.Closer, error) {
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errCopyGone
	}
	if err != nil {
		return nil, fmt.Errorf("backfill: holding the cached copy %s: %w", path, err)
	}
	// Blocking: an evictor holds its exclusive lock only while it deletes.
	if err := flock(fh, syscall.LOCK_SH); err != nil {
		fh.Close()
		return nil, fmt.Errorf("backfill: holding the cached copy %s: %w", path, err)
	}
	locked, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("backfill: holding the cached copy %s: %w", path, err)
	}
	now, err := os.Stat(path)
	if st, ok := locked.Sys().(*syscall.Stat_t); (ok && st.Nlink == 0) || err != nil || !os.SameFile(locked, now) {
		fh.Close()
		return nil, errCopyGone
	}
	return fh, nil
}

// deleteUnheld deletes the cached copy at path unless a reader holds it (holdCopy, in
// any process): it takes an exclusive flock without waiting, skips the file when that
// fails, and deletes while it holds the lock, so that a reader's hold begun meanwhile
// waits and then finds the file unlinked (holdCopy's check). A file a fetch put at path
// after the open is not the one locked, and is left to the next pass. (Left open: a
// fetch replacing the file between that check and the unlink, a reader holding the new
// file; two fetches of one missing file must race an eviction for it. The reader's query
// then fails on the file and fetches it again: Runner.countFiles.)
func deleteUnheld(path string) deleteOutcome {
	fh, err := os.Open(path)
	if err != nil {
		return left
	}
	defer fh.Close() // after the unlink: the lock is held throughout
	if err := flock(fh, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return held
		}
		return left
	}
	locked, err := fh.Stat()
	if err != nil {
		return left
	}
	if now, err := os.Stat(path); err != nil || !os.SameFile(locked, now) {
		return left
	}
	if os.Remove(path) != nil {
		return left
	}
	return deleted
}

// flock is flock(2) on fh, taken again when a signal interrupts it.
func flock(fh *os.File, how int) error {
	for {
		err := syscall.Flock(int(fh.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// holdDir takes a shared flock on the spill directory dir, kept until the returned
// file is closed, so that another process's eviction (deleteDirUnheld) leaves a
// directory a job of this one spills into, however long it went unwritten.
func holdDir(dir string) (io.Closer, error) {
	fh, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("backfill: holding the spill directory %s: %w", dir, err)
	}
	if err := flock(fh, syscall.LOCK_SH); err != nil {
		fh.Close()
		return nil, fmt.Errorf("backfill: holding the spill directory %s: %w", dir, err)
	}
	return fh, nil
}

// deleteDirUnheld removes the spill directory dir unless a job holds it (holdDir, in
// any process): as deleteUnheld, under an exclusive flock taken without waiting.
func deleteDirUnheld(dir string) deleteOutcome {
	fh, err := os.Open(dir)
	if err != nil {
		return left
	}
	defer fh.Close() // after the removal: the lock is held throughout
	if err := flock(fh, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return held
		}
		return left
	}
	if os.RemoveAll(dir) != nil {
		return left
	}
	return deleted
}
