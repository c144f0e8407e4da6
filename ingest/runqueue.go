package ingest

import (
	"context"
	"sync"
)

// inflightCount counts the batches, records and record bytes in flight, and the bytes
// produced for them not yet acknowledged. Unlike a WaitGroup it may be waited on while
// it grows: a lost partition's callback is not assured to be kept apart from the poll
// loop, and must not panic when it is not. fell.L is mu.
type inflightCount struct {
	mu         sync.Mutex
	n, records int
	bytes      int64
	produced   int64
	fell       sync.Cond // broadcast whenever a batch is done, or a produce acknowledged
}

// produce counts n bytes produced (negative: acknowledged, or failed).
func (f *inflightCount) produce(n int64) {
	f.mu.Lock()
	f.produced += n
	if n < 0 {
		f.fell.Broadcast()
	}
	f.mu.Unlock()
}

func (f *inflightCount) add(records int, bytes int64) {
	f.mu.Lock()
	f.n++
	f.records += records
	f.bytes += bytes
	f.mu.Unlock()
}

func (f *inflightCount) done(records int, bytes int64) {
	f.mu.Lock()
	f.n--
	f.records -= records
	f.bytes -= bytes
	f.fell.Broadcast()
	f.mu.Unlock()
}

// wait returns once no batch is in flight.
func (f *inflightCount) wait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.n > 0 {
		f.fell.Wait()
	}
}

// waitRoom returns once fewer than maxRecords records and maxBytes bytes, or fewer
// than workers batches, are in flight, and fewer than maxProduced bytes produced are
// not yet acknowledged, or once ctx is done; it returns the limit it waited for
// (QueueLimitRecords, QueueLimitBytes or QueueLimitPendingProduce; "" when it did not
// wait). Records are counted out a batch at a time, so a bound on records alone would
// hold the next fetch back while the last large batch ran and the other workers
// idled. Produces may wait for as long as a topic refuses writes, so that wait ends
// with ctx.
func (f *inflightCount) waitRoom(ctx context.Context, maxRecords int, maxBytes, maxProduced int64, workers int) (waited string) {
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		f.fell.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	for ctx.Err() == nil {
		switch {
		case f.produced >= maxProduced:
			waited = QueueLimitPendingProduce
		case f.n < workers:
			return waited
		case f.records >= maxRecords:
			waited = QueueLimitRecords
		case f.bytes >= maxBytes:
			waited = QueueLimitBytes
		default:
			return waited
		}
		f.fell.Wait()
	}
	return waited
}

// runQueue holds the partitions with batches to handle and no worker on them, in the
// order they became ready. A partition is in it, or being handled, exactly while its
// pending list is not empty (partState.queued): so its batches run one at a time and
// in order, and the poll loop never waits for a partition's previous batch. ready.L
// is mu.
type runQueue struct {
	mu     sync.Mutex
	ready  sync.Cond
	parts  []*partState
	closed bool
}

// push queues b behind its partition's pending batches.
func (q *runQueue) push(b *Batch) {
	q.mu.Lock()
	ps := b.ps
	ps.pending = append(ps.pending, b)
	if !ps.queued {
		ps.queued = true
		q.parts = append(q.parts, ps)
		q.ready.Signal()
	}
	q.mu.Unlock()
}

// next takes the first pending batch of the partition longest ready; nil once the
// queue is closed and empty.
func (q *runQueue) next() *Batch {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.parts) == 0 {
		if q.closed {
			return nil
		}
		q.ready.Wait()
	}
	ps := q.parts[0]
	q.parts[0] = nil
	q.parts = q.parts[1:]
	b := ps.pending[0]
	ps.pending[0] = nil
	ps.pending = ps.pending[1:]
	return b
}

// handled ends b's turn: its partition goes to the back of the queue with its next
// batch, if it has one, so that partitions take turns on the workers.
func (q *runQueue) handled(b *Batch) {
	q.mu.Lock()
	if ps := b.ps; len(ps.pending) > 0 {
		q.parts = append(q.parts, ps)
		q.ready.Signal()
	} else {
		ps.queued = false
	}
	q.mu.Unlock()
}

func (q *runQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.ready.Broadcast()
	q.mu.Unlock()
}
