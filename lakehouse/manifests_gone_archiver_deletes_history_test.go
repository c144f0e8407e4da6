package lakehouse_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestArchiverOverMissingManifestsDeletesHistory: the lake's manifest objects are gone
// (a lifecycle rule, a bucket copied without manifest/, a mistaken cleanup) while its
// data files, the only copy of events Kafka's retention has since deleted, remain. A
// restarted archiver takes the lake for a new one (Snapshot: version 0, no error; only
// unreadable manifests hold commits), commits v1 listing its new files alone, and its
// orphan collection then deletes every older data file: the archived history is gone,
// without an error. Unreadable manifests over the same files hold every commit
// (TestUnreadableManifestsHoldCommits); missing ones should too: the archiver stops
// with ErrMissingManifests and the history stays.
func TestArchiverOverMissingManifestsDeletesHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "file")
	cl := b.Client(t)
	h := newHistory(34)
	cfg := archiverConfig(b, bkt, "gone")
	stop := startArchiver(t, cfg)
	h.produce(t, cl, 300)
	archiveAll(t, lake, h, 60*time.Second, stop)

	history := objects(t, bkt, "data/")
	if len(history) == 0 {
		t.Fatal("nothing archived")
	}
	for name := range objects(t, bkt, "manifest/") {
		if err := bkt.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	archivedEnd := h.ends()[0]
	deleteRecords(t, cl, archivedEnd+1) // Kafka's retention: the lake holds the only copy

	cfg = archiverConfig(b, bkt, "gone2")
	cfg.CompactInterval = 100 * time.Millisecond
	cfg.OrphanGrace = 200 * time.Millisecond
	// Run directly, not by startArchiver: the archiver is to stop by itself, with
	// ErrMissingManifests, which stopArchivers would take for a failure.
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- lakehouse.RunArchiver(actx, cfg) }()
	h.produce(t, cl, 20)

	// Bounded: the archiver commits and runs its maintenance every 100ms; 10s is
	// dozens of passes. The history must still be there after them.
	var runErr error
	stopped, lost := false, false
	poll.Within(10*time.Second, func() bool {
		select {
		case runErr = <-done:
			stopped = true
		default:
		}
		left := objects(t, bkt, "data/")
		gone := 0
		for name := range history {
			if _, ok := left[name]; !ok {
				gone++
			}
		}
		lost = gone == len(history)
		return lost || stopped
	})
	if lost {
		snap, err := lake.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("the archiver committed over a lake with missing manifests (now v%d, %d files) and its orphan collection deleted all %d archived data files of offsets 0-%d, which Kafka no longer holds",
			snap.Version(), len(snap.Files(lakehouse.Filter{})), len(history), archivedEnd)
	}
	if !stopped {
		cancel()
		runErr = <-done
	}
	if !errors.Is(runErr, lakehouse.ErrMissingManifests) {
		t.Errorf("the archiver over data files without manifests ended with %v, want ErrMissingManifests", runErr)
	}
	left := objects(t, bkt, "data/")
	for name := range history {
		if _, ok := left[name]; !ok {
			t.Errorf("archived %s was deleted", name)
		}
	}
}
