package lakehouse

import (
	"context"
	"errors"
	"fmt"
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
	// patience, when positive, is how long an operation may keep failing before do
	// gives up with its error (a gaveUpError): a one-shot maintenance pass
	// (MaintenanceConfig.StoragePatience). 0 waits an outage out however long it lasts.
	patience time.Duration
}

// gaveUpError is an operation's error once it kept failing for longer than the
// caller's patience (backoff.patience).
type gaveUpError struct {
	op      string
	failing time.Duration // since the start of its first failed attempt
	err     error
}

func (e *gaveUpError) Error() string {
	return fmt.Sprintf("%s: storage failing for %v, gave up: %v", e.op, e.failing.Round(time.Millisecond), e.err)
}

func (e *gaveUpError) Unwrap() error { return e.err }

// gaveUp reports whether err is an operation given up on for failing too long.
func gaveUp(err error) bool {
	var g *gaveUpError
	return errors.As(err, &g)
}

// patientBackOff waits no longer than left says: an operation nearly out of patience
// is tried once more when it runs out, rather than after a wait past it.
type patientBackOff struct {
	cbackoff.BackOff
	left func() time.Duration
}

func (p patientBackOff) NextBackOff() time.Duration {
	return min(p.BackOff.NextBackOff(), max(p.left(), 0))
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
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, errEncodeManifest) || errors.Is(err, ErrNewerFormat) || errors.Is(err, ErrManifestVersionsExhausted) || errors.Is(err, ErrMissingManifests)
}

// do runs f until it succeeds, fails permanently, or ctx ends; waits double from min up
// to max, with jitter, for as long as the outage lasts, or, with a patience, until f
// has kept failing that long (then its error is a gaveUpError).
func (b backoff) do(ctx context.Context, op string, f func(context.Context) error) error {
	attempt := 0
	var failingSince time.Time // the start of the first failed attempt
	// Jitter keeps several archivers from hammering a recovering store in step.
	var waits cbackoff.BackOff = &cbackoff.ExponentialBackOff{InitialInterval: b.min, MaxInterval: b.max, Multiplier: 2, RandomizationFactor: 0.5}
	if b.patience > 0 {
		waits = patientBackOff{BackOff: waits, left: func() time.Duration { return b.patience - time.Since(failingSince) }}
	}
	_, err := cbackoff.Retry(ctx, func() (struct{}, error) {
		attempt++
		start := time.Now()
		err := f(ctx)
		if err != nil && (permanent(err) || slices.ContainsFunc(b.final, func(f error) bool { return errors.Is(err, f) })) {
			return struct{}{}, cbackoff.Permanent(err)
		}
		if err != nil && b.patience > 0 {
			if failingSince.IsZero() {
				failingSince = start
			}
			if failing := time.Since(failingSince); failing >= b.patience {
				if b.onError != nil {
					b.onError(op)
				}
				return struct{}{}, cbackoff.Permanent(&gaveUpError{op: op, failing: failing, err: err})
			}
		}
		return struct{}{}, err
	},
		cbackoff.WithBackOff(waits),
		cbackoff.WithMaxElapsedTime(0), // storage outages are waited out, however long (or up to the patience, above)
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
