package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kgo"
)

// refusedLogEvery spaces the log lines of dead letters refused and held: a topic
// refusing for hours would otherwise log every try of every held dead letter.
const refusedLogEvery = time.Minute

// heldCost is what a held dead letter counts toward the pending produce bytes besides
// its record's own (the consumer's charge): its goroutine's stack, backoff and timer.
// A flood of malformed events while the dead-letter topic refuses for good holds a
// dead letter each; counted by their bytes alone, dead letters of some hundred bytes
// let --max-pending-produce-bytes (64 MiB) start some 300,000 goroutines before the
// consumer stopped fetching, gigabytes of stacks. So counted, some 8,000 are held,
// and what was read before their refusals came back (TestHeldDeadLettersAreBounded).
const heldCost = 8 << 10

// Holds are the dead letters held (hold) for one partition: an events partition's
// (the event consumer's), or the partition a record made on behalf of events belongs
// to (live's alerts raised outside a batch, FailedFor). A hold must not outlive its
// partition: its event's offset was held, so not committed, and the partition's next
// owner reads the event again and holds a dead letter of its own; once the topic took
// writes both were written, the event dead-lettered twice
// (TestDeadLetterHeldAcrossRevokeIsWrittenOnce). GiveUp ends them. A revoke flushes
// its partitions' holds only (FlushHolds): one of a partition that stays is not its
// to wait for (TestRevokeDoesNotWaitForAStayingPartitionsHeldDeadLetter).
type Holds struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	n     int           // holds running
	ended chan struct{} // closed while n is 0
}

// NewHolds makes the holds of one partition, none held yet.
func NewHolds() *Holds {
	h := &Holds{ended: make(chan struct{})}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	close(h.ended)
	return h
}

// start counts a hold beginning, or reports false when the holds were given up: a
// dead letter refused after its partition was, it is given up at once.
func (h *Holds) start() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return false
	}
	if h.n++; h.n == 1 {
		h.ended = make(chan struct{})
	}
	return true
}

func (h *Holds) end() {
	h.mu.Lock()
	if h.n--; h.n == 0 {
		close(h.ended)
	}
	h.mu.Unlock()
}

// running is closed once no hold runs, and how many run now.
func (h *Holds) running() (<-chan struct{}, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ended, h.n
}

// GiveUp ends the holds, each dead letter given up unproduced (its given called, not
// its done: its event's offset stays uncommitted for the partition's next owner), and
// waits until they have ended or ctx is done. It reports how many were held. A hold
// whose try is under way when it is given up may still be delivered by it: then its
// done is called, as it was written. A dead letter refused after GiveUp is given up
// at once.
func (h *Holds) GiveUp(ctx context.Context) (int, error) {
	h.cancel()
	ended, n := h.running()
	select {
	case <-ended:
		return n, nil
	case <-ctx.Done():
		return n, fmt.Errorf("waiting for held dead letters to be given up: %w", ctx.Err())
	}
}

// hold produces dl again and again, with backoff, until its topic takes it, refuses
// it as too large (Failed cuts it), its holds are given up (end.holds: its partition
// revoked or lost, or the consumer stopping) or the client closes, calling end.done
// (if not nil) only when it is delivered or has failed, end.given when it is given
// up. The dead-letter topic refused dl for good (an ACL not yet granted, an
// invalid or missing topic): dropping it committed the offset of the event it stood
// for past it, and the event was lost to every later run, though ACLs and topics get
// fixed. Each refusal is counted in ProduceErrors and logged (refusedLogEvery); its
// event's offset stays held meanwhile, and Flush (FlushHolds for its partition's)
// waits for it, so a revoke or a shutdown gives it up after its timeout without
// committing past it.
func (r *Rerouter) hold(dl *kgo.Record, err error, end deadLetterEnd) {
	r.refused(dl, err)
	if end.holds != nil && !end.holds.start() {
		end.giveUp()
		return
	}
	r.holdStarting()
	if r.charge != nil {
		r.charge(heldCost)
	}
	// Between tries the client holds no record: the hold waits in Waits itself, so that
	// --max-produce-stall sees the dead letter held.
	key := new(int)
	r.m.Waits.start(key, dl.Topic)
	// It ends once dl is delivered, refused as too large, given up, or the client is
	// closed (its context ends the wait between tries).
	go func() {
		defer r.holdEnded()
		if end.holds != nil {
			defer end.holds.end()
		}
		defer r.m.Waits.end(key)
		if r.charge != nil {
			defer r.charge(-heldCost)
		}
		ctx := r.cl.Context()
		if end.holds != nil {
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(end.holds.ctx)
			defer cancel()
			defer context.AfterFunc(r.cl.Context(), cancel)()
		}
		b := backoff.NewExponentialBackOff()
		b.MaxInterval = 30 * time.Second
		_, err := backoff.Retry(ctx, func() (struct{}, error) {
			err := r.cl.ProduceSync(ctx, dl).FirstErr()
			switch {
			case err == nil:
				return struct{}{}, nil
			case tooLarge(err) || errors.Is(err, kgo.ErrClientClosed) || ctx.Err() != nil:
				return struct{}{}, backoff.Permanent(err)
			}
			r.refused(dl, err)
			// Refused for its time after a refusal of another kind (a topic missing
			// for a week): the next try is stamped now.
			if again, ok := restamped(dl, err, time.Now()); ok {
				dl = again
			}
			return struct{}{}, err
		}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0))
		switch {
		case err == nil:
			r.Delivered(dl)
			if end.done != nil {
				end.done()
			}
		case end.holds != nil && end.holds.ctx.Err() != nil:
			end.giveUp()
		case ctx.Err() != nil || errors.Is(err, context.Canceled):
			r.failed(dl, kgo.ErrClientClosed, end)
		default:
			r.failed(dl, err, end)
		}
	}()
}

// giveUp calls end.given (if not nil) for a dead letter given up with its holds.
func (end deadLetterEnd) giveUp() {
	if end.given != nil {
		end.given()
	}
}

// refused counts a refusal of dead letter dl and logs it, at most once every
// refusedLogEvery with the refusals since.
func (r *Rerouter) refused(dl *kgo.Record, err error) {
	r.m.ProduceErrors.WithLabelValues(dl.Topic).Inc()
	n := r.refusals.Add(1)
	now := time.Now().UnixNano()
	last := r.refusedLogged.Load()
	if last != 0 && now-last < int64(refusedLogEvery) || !r.refusedLogged.CompareAndSwap(last, now) {
		return
	}
	r.log.Error("the dead-letter topic refused a dead letter; it is produced again with backoff and its event's offset held until it is taken (grant the ACL, fix or create the topic)",
		"topic", dl.Topic, "key", clip(dl.Key), "refusals", n-r.refusalsLogged.Swap(n), "err", err)
}

// refusalCounts are the Rerouter's counts for refused's rate limit.
type refusalCounts struct {
	refusals, refusalsLogged atomic.Int64
	refusedLogged            atomic.Int64 // unix nanoseconds of the last log line
}
