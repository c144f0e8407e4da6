package ingest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestPartStateReleasesBeforeACommit: an event with two records produced on its
// behalf (an alert and a dead letter, two alerts) holds its offset twice; both
// delivered before the next commit looks, the offset is free. Holds of one offset
// kept apart (TestPartStateCommittable releases one at a time, with a commit's look
// between) had the second release decrement the first's count again, and the offset
// stayed held for good: nothing committed past it.
func TestPartStateReleasesBeforeACommit(t *testing.T) {
	t.Parallel()
	s := newPartState(0)
	s.hold(10)
	s.hold(10)
	s.hold(11)
	s.handled = kgo.EpochOffset{Epoch: 1, Offset: 12}
	s.release(10)
	s.release(11)
	s.release(10)
	if off, ok := s.committable(); !ok || off.Offset != 12 {
		t.Errorf("committable = %d, %v; want 12, true: every record produced for offsets 10 and 11 was delivered", off.Offset, ok)
	}
	if len(s.holds) != 0 {
		t.Errorf("holds left: %v", s.holds)
	}
}
