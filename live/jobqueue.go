package live

import (
	"context"
	"slices"
	"sync"
	"time"
)

// fairQueue holds the hand-off jobs waiting for a worker, served round-robin by key (the
// rule's scope): one customer's flood of rule versions waits behind the other scopes'
// jobs instead of in front of them. A waiting job is data, not a goroutine, so a queue
// of thousands costs little memory; workers pop jobs as slots free up.
type fairQueue[T comparable] struct {
	mu    sync.Mutex
	wake  chan struct{} // one token: something was pushed
	order []string      // keys with waiting jobs, in service order
	byKey map[string][]queued[T]
	n     int
	now   func() time.Time
}

type queued[T any] struct {
	job T
	// notBefore delays a job that failed until its retry is due.
	notBefore time.Time
}

func newFairQueue[T comparable]() *fairQueue[T] {
	return &fairQueue[T]{wake: make(chan struct{}, 1), byKey: map[string][]queued[T]{}, now: time.Now}
}

// push queues job under key, to run no earlier than notBefore (zero: at once).
func (q *fairQueue[T]) push(key string, job T, notBefore time.Time) {
	q.mu.Lock()
	if len(q.byKey[key]) == 0 {
		q.order = append(q.order, key)
	}
	q.byKey[key] = append(q.byKey[key], queued[T]{job: job, notBefore: notBefore})
	q.n++
	q.mu.Unlock()
	q.signal()
}

// pop blocks until a job is due and returns it; ok is false when ctx ended. Keys take
// turns: the key served goes to the back of the order.
func (q *fairQueue[T]) pop(ctx context.Context) (job T, ok bool) {
	for {
		job, wait, found := q.take()
		if found {
			if q.len() > 0 {
				q.signal() // pass the turn on: another idle worker may take the next job
			}
			return job, true
		}
		var timer *time.Timer
		var due <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			due = timer.C
		}
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-due:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return job, false
		}
	}
}

func (q *fairQueue[T]) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take removes the first due job in service order. When none is due, wait is how long
// until the earliest is (0: the queue is empty).
func (q *fairQueue[T]) take() (job T, wait time.Duration, found bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for i, key := range q.order {
		jobs := q.byKey[key]
		for j, w := range jobs {
			if w.notBefore.After(now) {
				if d := w.notBefore.Sub(now); wait == 0 || d < wait {
					wait = d
				}
				continue
			}
			q.byKey[key] = slices.Delete(jobs, j, j+1)
			q.order = slices.Delete(q.order, i, i+1)
			if len(q.byKey[key]) > 0 {
				q.order = append(q.order, key)
			} else {
				delete(q.byKey, key)
			}
			q.n--
			return w.job, wait, true
		}
	}
	return job, wait, false
}

// remove takes out of the queue the waiting jobs under key that match, and reports
// whether it took any. A cancelled job goes at once: left until a worker pops it, it
// kept its compiled rule alive and counted in the queue's length and positions, so a
// rule updated in a loop grew the queue without bound.
func (q *fairQueue[T]) remove(key string, match func(T) bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	jobs := q.byKey[key]
	kept := slices.DeleteFunc(jobs, func(w queued[T]) bool { return match(w.job) })
	if len(kept) == len(jobs) {
		return false
	}
	q.n -= len(jobs) - len(kept)
	if len(kept) == 0 {
		delete(q.byKey, key)
		q.order = slices.DeleteFunc(q.order, func(k string) bool { return k == key })
	} else {
		q.byKey[key] = kept
	}
	return true
}

// positions numbers the waiting jobs 1, 2, … in the order they would start if none
// failed: round-robin over the keys.
func (q *fairQueue[T]) positions() map[T]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[T]int, q.n)
	for round := 0; len(out) < q.n; round++ {
		for _, key := range q.order {
			if jobs := q.byKey[key]; round < len(jobs) {
				out[jobs[round].job] = len(out) + 1
			}
		}
	}
	return out
}

// len is the number of waiting jobs.
func (q *fairQueue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
