//go:build !unix

package backfill

import (
	"io"
	"os"
)

// holdCopy holds nothing where flock(2) is not: pins are then this process's alone
// (pinFiles), as they were before flock, and another process sharing the cache
// directory may delete a copy this one is about to read. The query then fails on it
// and the copy is fetched again once (Runner.countFiles); give each process its own
// cache directory to avoid that.
func holdCopy(string) (io.Closer, error) { return nil, nil }

// deleteUnheld deletes path: without flock no other process's reader can be seen.
func deleteUnheld(path string) deleteOutcome {
	if os.Remove(path) != nil {
		return left
	}
	return deleted
}

// holdDir holds nothing where flock(2) is not: another process sharing the cache
// directory sees a job's spill directory only by its times (tempGrace).
func holdDir(string) (io.Closer, error) { return nil, nil }

// deleteDirUnheld removes the spill directory dir.
func deleteDirUnheld(dir string) deleteOutcome {
	if os.RemoveAll(dir) != nil {
		return left
	}
	return deleted
}
