package lakehouse

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// backoff retries object storage operations: storage being down must slow the archiver,
// never lose data or stop it.
type backoff struct {
	min, max time.Duration
	log      *slog.Logger
	onError  func(op string)
}

// permanent errors are answers, not outages: retrying cannot change them.
func permanent(err error) bool {
	return errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidName) ||
		errors.Is(err, ErrCorrupt) || errors.Is(err, ErrClosed) || errors.Is(err, errNoChange) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// do runs f until it succeeds, fails permanently, or ctx ends.
func (b backoff) do(ctx context.Context, op string, f func(context.Context) error) error {
	wait := b.min
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil || permanent(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if b.onError != nil {
			b.onError(op)
		}
		// Full jitter keeps several archivers from hammering a recovering store in step.
		sleep := time.Duration(rand.Int64N(int64(wait))) + wait/2
		b.log.Warn("lakehouse: storage operation failed, retrying", "op", op, "attempt", attempt, "in", sleep.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sleep):
		}
		wait = min(wait*2, b.max)
	}
}
