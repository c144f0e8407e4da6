//go:build unix

package ingest

import (
	"syscall"
	"testing"
)

// TestEmbeddedRestartsWhileItsLockFileIsShared: a broker closed and started again on
// its data directory in the same process starts, though a child process forked by
// another goroutine still shares the lock file: a child holds a descriptor of every
// open file from its fork to its exec, and a flock belongs to the open file, not to
// the descriptor. Close only closed the broker's descriptor, the lock stayed with the
// child's copy, and the restart failed with ErrDataDirInUse.
// TestEmbeddedTornSegmentTailReusesOffsets failed so once (0.21 s) in a -short run of
// the package, beside tests that start a broker child process; a goroutine running
// /bin/true in a loop made 98 of 300 restarts fail. The child is stood for here by a
// duplicate of the lock file's descriptor, which shares the open file as the child's
// does.
func TestEmbeddedRestartsWhileItsLockFileIsShared(t *testing.T) {
	t.Parallel()
	cfg := EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 1, DataDir: t.TempDir()}
	cfg.EnsureDefaults()
	e, err := StartEmbedded(cfg)
	if err != nil {
		t.Fatal(err)
	}
	child, err := syscall.Dup(int(e.lock.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(child)
	e.Close()
	e, err = StartEmbedded(cfg)
	if err != nil {
		t.Fatalf("starting the broker again on %s while a forked child shares its closed lock file: %v; want it started", cfg.DataDir, err)
	}
	e.Close()
}
