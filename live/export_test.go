package live

import "context"

// SetJobHook makes f run before each hand-off job's attempt of the daemons in consumer
// group, until the returned function restores the default (none).
func SetJobHook(group string, f func(ctx context.Context)) (restore func()) {
	jobHooks.Store(group, f)
	return func() { jobHooks.Delete(group) }
}
