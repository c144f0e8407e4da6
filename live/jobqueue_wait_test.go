package live

import (
	"testing"
	"time"
)

// TestFairQueueWaitsForTheEarliestRetry: with no job due, the queue sleeps until the
// earliest retry is, whichever key's turn comes first: waiting for the first key's
// later retry left an earlier one due and unserved.
func TestFairQueueWaitsForTheEarliestRetry(t *testing.T) {
	t.Parallel()
	q := newFairQueue[string]()
	now := time.Unix(1000, 0)
	q.now = func() time.Time { return now }
	q.push("a", "late", now.Add(5*time.Minute))
	q.push("b", "soon", now.Add(time.Minute))
	q.push("c", "middle", now.Add(3*time.Minute))
	if j, wait, found := q.take(); found || wait != time.Minute {
		t.Fatalf("take() = %q, wait %v, found %v; want nothing due, wait 1m", j, wait, found)
	}
}
