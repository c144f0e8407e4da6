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

// A removed job leaves the queue's length and positions at once, and a key left with
// no job leaves the service order: the next key's job is served, not a gap.
func TestFairQueueRemove(t *testing.T) {
	t.Parallel()
	q := newFairQueue[string]()
	q.push("a", "a-0", time.Time{})
	q.push("a", "a-1", time.Time{})
	q.push("b", "b-0", time.Time{})
	if q.remove("a", func(j string) bool { return j == "none" }) || q.remove("c", func(string) bool { return true }) {
		t.Fatal("remove reported a job that is not queued")
	}
	if !q.remove("a", func(j string) bool { return j == "a-0" }) {
		t.Fatal("remove did not find a-0")
	}
	if pos := q.positions(); q.len() != 2 || pos["a-1"] != 1 || pos["b-0"] != 2 {
		t.Fatalf("after removing a-0: %d waiting, positions %v; want 2, a-1 1 and b-0 2", q.len(), pos)
	}
	if !q.remove("a", func(j string) bool { return j == "a-1" }) {
		t.Fatal("remove did not find a-1")
	}
	if pos := q.positions(); q.len() != 1 || pos["b-0"] != 1 || len(q.order) != 1 {
		t.Fatalf("after emptying key a: %d waiting, positions %v, order %v; want b-0 alone", q.len(), pos, q.order)
	}
	if j, _, found := q.take(); !found || j != "b-0" {
		t.Fatalf("took %q (found %v), want b-0", j, found)
	}
}
