//go:build !unix

package ingest

import "os"

// lockDataDir takes no lock where flock(2) is not: one process per data directory is
// then the operator's to keep.
func lockDataDir(string) (*os.File, error) { return nil, nil }

// unlockDataDir closes f, lockDataDir's (nil here).
func unlockDataDir(f *os.File) {
	if f != nil {
		f.Close()
	}
}
