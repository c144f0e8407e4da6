package lakehouse

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A file uploaded and not yet listed by a manifest is protected from orphan collection
// (collectGarbage) by its age alone: a collection deletes an unlisted data object
// older than the orphan grace. A commit naming such a file must therefore become
// visible while the file is young, however slow the store is to answer it; a commit
// that landed after a collection took its file lists a file that is gone, and its
// events are lost (TestOrphanCollectionDuringASlowCommitLosesArchivedFiles).
//
// Why the two rules below are complete: before each commit attempt every file it names
// younger than a quarter of the grace is left as it is and any older one is uploaded
// again (refreshDue), and the attempt is abandoned once its oldest file's upload is
// half the grace old (commitAttempt). So every request that can make the manifest
// visible was sent while each file it names was at most half the grace old. A
// collection lists data objects before it reads the newest manifest and looks at an
// object's time once more right before deleting it; to delete a file it must find it
// older than the grace both times, after reading a manifest that did not yet list it,
// so the manifest landed more than half the grace after its last request was sent.
// That half is the margin for a store still applying a request the client abandoned,
// and for the clocks of the host and the store, which the grace judges alike. It holds
// when every writer and collector of a lake has the same grace (as the flags' help
// says): a compaction whose grace is over twice an archiver's guards its merged file
// for half its own grace, longer than the archiver's collection leaves it.

// refreshDue reports whether a file whose last upload started at uploaded must be
// uploaded again before a commit attempt names it: a younger one leaves the attempt at
// least a quarter of the grace.
func refreshDue(uploaded time.Time, grace time.Duration) bool {
	return uploaded.IsZero() || grace > 0 && time.Since(uploaded) >= grace/4
}

// errAttemptOutlived is the cause of an attempt's context ended by commitAttempt.
var errAttemptOutlived = errors.New("commit attempt outlived half the orphan grace")

// attemptCutError is a commit attempt abandoned by commitAttempt. It does not unwrap to
// context.DeadlineExceeded on purpose: to backoff.do that is the caller's end, a
// permanent error, while this attempt is retried, its files uploaded again first.
type attemptCutError struct {
	grace time.Duration
	err   error
}

func (e *attemptCutError) Error() string {
	return fmt.Sprintf("commit attempt abandoned: its files were uploaded half the orphan grace (%v) ago, past which a collection could delete them before the manifest listing them lands (they are uploaded again): %v", e.grace, e.err)
}

// commitAttempt runs f, one attempt at a commit naming files whose oldest upload
// started at oldest, ending its context once that upload is half the grace old. The
// store may apply a request the client abandoned; a later attempt finds that commit
// landed (it lists the files) and settles on it.
func commitAttempt(ctx context.Context, oldest time.Time, grace time.Duration, f func(context.Context) error) error {
	if grace <= 0 {
		return f(ctx) // no grace configured (a maintainer built for a merge alone): nothing to outlive
	}
	actx, cancel := context.WithDeadlineCause(ctx, oldest.Add(grace/2), errAttemptOutlived)
	defer cancel()
	err := f(actx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errAttemptOutlived) {
		return &attemptCutError{grace: grace, err: err}
	}
	return err
}
