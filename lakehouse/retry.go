package lakehouse

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	cbackoff "github.com/cenkalti/backoff/v5"
)

// backoff retries object storage operations: storage being down must slow the archiver,
// never lose data or stop it.
type backoff struct {
	min, max time.Duration
	log      *slog.Logger
	onError  func(op string)
	// final are errors permanent to this caller besides those permanent() names.
	final []error
}

// givingUpOn is b, also failing at once on errs.
func (b backoff) givingUpOn(errs ...error) backoff {
	b.final = append(slices.Clip(b.final), errs...)
	return b
}

// permanent errors are answers, not outages: retrying cannot change them.
func permanent(err error) bool {
	return errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidName) ||
		errors.Is(err, ErrCorrupt) || errors.Is(err, ErrClosed) || errors.Is(err, errNoChange) || errors.Is(err, ErrTopicMismatch) || errors.Is(err, errStale) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// do runs f until it succeeds, fails permanently, or ctx ends; waits double from min up
// to max, with jitter, for as long as the outage lasts.
func (b backoff) do(ctx context.Context, op string, f func(context.Context) error) error {
	attempt := 0
	_, err := cbackoff.Retry(ctx, func() (struct{}, error) {
		attempt++
		err := f(ctx)
		if err != nil && (permanent(err) || slices.ContainsFunc(b.final, func(f error) bool { return errors.Is(err, f) })) {
			return struct{}{}, cbackoff.Permanent(err)
		}
		return struct{}{}, err
	},
		// Jitter keeps several archivers from hammering a recovering store in step.
		cbackoff.WithBackOff(&cbackoff.ExponentialBackOff{InitialInterval: b.min, MaxInterval: b.max, Multiplier: 2, RandomizationFactor: 0.5}),
		cbackoff.WithMaxElapsedTime(0), // storage outages are waited out, however long
		cbackoff.WithNotify(func(err error, wait time.Duration) {
			if b.onError != nil {
				b.onError(op)
			}
			b.log.Warn("storage operation failed, retrying", "op", op, "attempt", attempt, "in", wait.Round(time.Millisecond), "err", err)
		}))
	if err != nil && ctx.Err() != nil && !permanent(err) {
		return ctx.Err()
	}
	return err
}
