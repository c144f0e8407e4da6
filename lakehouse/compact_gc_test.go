package lakehouse_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// manifestOutageBucket fails manifest commits while down (a store refusing
// conditional writes for a while), and counts them.
type manifestOutageBucket struct {
	lakehouse.Bucket
	down   atomic.Bool
	failed atomic.Int64
}

func (o *manifestOutageBucket) PutIfAbsent(ctx context.Context, name string, r io.Reader) error {
	if o.down.Load() && strings.HasPrefix(name, "manifest/") {
		o.failed.Add(1)
		return errors.New("503 service unavailable")
	}
	return o.Bucket.PutIfAbsent(ctx, name, r)
}

// compactDuringOutage starts a compaction of inner's small files (mc's other options)
// whose manifest commits fail until end is called, and waits until one has failed; end
// ends the outage and waits for the compaction, failing t if it fails.
func compactDuringOutage(t *testing.T, inner lakehouse.Bucket, mc lakehouse.MaintenanceConfig) (end func()) {
	t.Helper()
	out := &manifestOutageBucket{Bucket: inner}
	out.down.Store(true)
	compactor := lakehouse.NewLake(out, testLogger())
	done := make(chan error, 1)
	mc.CompactSmallBytes, mc.TargetBytes = 64<<20, 64<<20
	go func() {
		_, err := compactor.Maintain(context.Background(), mc)
		done <- err
	}()
	poll.Until(t, 20*time.Second, "the compaction's commit to fail", func() bool { return out.failed.Load() > 0 })
	return func() {
		t.Helper()
		out.down.Store(false)
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("compaction did not finish")
		}
	}
}

// TestCompactionCommitOutlivesOrphanGrace: a compaction uploads its merged file, then
// its manifest commit keeps failing for longer than the orphan grace, and another
// maintenance pass meanwhile takes the unlisted merged file for debris and deletes it.
// The compaction writes it again before each retry, as the archiver does its files:
// its commit then lists a file that exists, and the lake holds every row once. It
// listed a file that was gone.
func TestCompactionCommitOutlivesOrphanGrace(t *testing.T) {
	t.Parallel()
	inner, lake, h, before := smallFilesLake(t, "mem", "compact-gc", 41)

	const grace = 300 * time.Millisecond
	endOutage := compactDuringOutage(t, inner, lakehouse.MaintenanceConfig{OrphanGrace: grace})
	// A pause, not a wait for something: garbage collection judges an unlisted file's
	// age by its store ModTime against the wall clock (collectGarbage's time.Now, not
	// MaintenanceConfig.Now), so only real time passing the grace since the merged
	// file's upload lets the pass below take it for debris, as the bug needs. What the
	// compaction does meanwhile (uploading it again) is the behaviour under test, so
	// the test does not wait on it.
	time.Sleep(2 * grace)
	// Another pass collects garbage (and compacts nothing: no file counts as small).
	if _, err := lake.Maintain(context.Background(), lakehouse.MaintenanceConfig{CompactSmallBytes: 1, OrphanGrace: grace}); err != nil {
		t.Fatal(err)
	}
	endOutage()
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version() == before.Version() {
		t.Fatal("the compaction committed nothing")
	}
	checkExactlyOnce(t, lake, snap, h)
}
