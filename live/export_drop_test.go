package live

// SetDropHook makes f run, in the daemons of consumer group, once each partition being
// revoked or lost is marked so and its jobs cancelled, before the next one is handled
// and before any leaves the owned partitions; the returned function removes it.
func SetDropHook(group string, f func(partition int32)) (restore func()) {
	dropHooks.Store(group, f)
	return func() { dropHooks.Delete(group) }
}
