package ingest

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kgo"
)

// refusedLogEvery spaces the log lines of dead letters refused and held: a topic
// refusing for hours would otherwise log every try of every held dead letter.
const refusedLogEvery = time.Minute

// hold produces dl again and again, with backoff, until its topic takes it, refuses
// it as too large (Failed cuts it), or the client closes, calling done (if not nil)
// only then. The dead-letter topic refused dl for good (an ACL not yet granted, an
// invalid or missing topic): dropping it committed the offset of the event it stood
// for past it, and the event was lost to every later run, though ACLs and topics get
// fixed. Each refusal is counted in ProduceErrors and logged (refusedLogEvery); its
// event's offset stays held meanwhile, and Flush waits for it, so a revoke or a
// shutdown gives it up after its timeout without committing past it.
func (r *Rerouter) hold(dl *kgo.Record, err error, done func()) {
	r.refused(dl, err)
	r.starting()
	// Between tries the client holds no record: the hold waits in Waits itself, so that
	// --max-produce-stall sees the dead letter held.
	key := new(int)
	r.m.Waits.start(key, dl.Topic)
	// It ends once dl is delivered, refused as too large, or the client is closed (its
	// context ends the wait between tries).
	go func() {
		defer r.handedOne()
		defer r.m.Waits.end(key)
		ctx := r.cl.Context()
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
			return struct{}{}, err
		}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0))
		switch {
		case err == nil:
			r.Delivered(dl)
			if done != nil {
				done()
			}
		case ctx.Err() != nil || errors.Is(err, context.Canceled):
			r.Failed(dl, kgo.ErrClientClosed, done)
		default:
			r.Failed(dl, err, done)
		}
	}()
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
