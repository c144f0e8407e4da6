package live

import "context"

// SetJobHook makes f run before each hand-off job's attempt, until the
// returned function restores the default (none).
func SetJobHook(f func(ctx context.Context)) (restore func()) {
	jobHook = f
	return func() { jobHook = nil }
}
