package live

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A customer's flood of jobs does not starve the others: keys take turns.
func TestFairQueueTakesTurns(t *testing.T) {
	t.Parallel()
	q := newFairQueue[string]()
	for i := range 100 {
		q.push("c-flood", fmt.Sprintf("flood-%d", i), time.Time{})
	}
	q.push("c-other", "other-0", time.Time{})
	q.push("*", "global-0", time.Time{})
	pos := q.positions()
	if pos["flood-0"] != 1 || pos["other-0"] != 2 || pos["global-0"] != 3 || pos["flood-1"] != 4 || pos["flood-99"] != 102 {
		t.Fatalf("positions: flood-0 %d, other-0 %d, global-0 %d, flood-1 %d, flood-99 %d; want 1, 2, 3, 4, 102",
			pos["flood-0"], pos["other-0"], pos["global-0"], pos["flood-1"], pos["flood-99"])
	}
	ctx := context.Background()
	var got []string
	for range 5 {
		j, ok := q.pop(ctx)
		if !ok {
			t.Fatal("pop ended")
		}
		got = append(got, j)
	}
	want := []string{"flood-0", "other-0", "global-0", "flood-1", "flood-2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("served %v, want %v", got, want)
	}
	if q.len() != 97 {
		t.Fatalf("%d waiting, want 97", q.len())
	}
}

// A job waiting for its retry does not hold up jobs that are due, and is served once due.
func TestFairQueueRetryWaits(t *testing.T) {
	t.Parallel()
	q := newFairQueue[string]()
	now := time.Unix(1000, 0)
	q.now = func() time.Time { return now }
	q.push("a", "retry", now.Add(time.Minute))
	q.push("b", "due", time.Time{})
	if j, _, found := q.take(); !found || j != "due" {
		t.Fatalf("took %q (found %v), want the due job", j, found)
	}
	if _, wait, found := q.take(); found || wait != time.Minute {
		t.Fatalf("a job not due was taken (%v) or the wait is %v, want 1m", found, wait)
	}
	now = now.Add(time.Minute)
	if j, _, found := q.take(); !found || j != "retry" {
		t.Fatalf("took %q (found %v) once due, want the retry", j, found)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := q.pop(ctx); ok {
		t.Fatal("pop on an empty queue with a done context returned a job")
	}
}
