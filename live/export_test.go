package live

import "context"

// SetWindowJobHook makes f run before each windowed hand-off job's attempt, until the
// returned function restores the default (none).
func SetWindowJobHook(f func(ctx context.Context)) (restore func()) {
	windowJobHook = f
	return func() { windowJobHook = nil }
}
