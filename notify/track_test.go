package notify

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTrackerCommitsNothingBeforeARecord: a tracker made for a partition's first
// record has nothing to commit until that record is noted. A commit in between once
// committed offset 0, moving the group back to the partition's start, so that a
// crash then delivered every alert of the partition again.
func TestTrackerCommitsNothingBeforeARecord(t *testing.T) {
	t.Parallel()
	tr := newTracker(context.Background())
	if next, ok := tr.handled(); ok {
		t.Fatalf("a tracker that has seen nothing commits %+v", next)
	}
	tr.seen = kgo.EpochOffset{Epoch: 3, Offset: 1001}
	if next, ok := tr.handled(); !ok || next.Offset != 1001 {
		t.Errorf("after offset 1000: commit %+v (ok %v), want 1001", next, ok)
	}
}
