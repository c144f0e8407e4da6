package live

import "context"

// SetJobHook makes f run before each hand-off job's attempt of the daemons in consumer
// group, until the returned function restores the default (none).
func SetJobHook(group string, f func(ctx context.Context)) (restore func()) {
	jobHooks.Store(group, f)
	return func() { jobHooks.Delete(group) }
}

// CounterStoreCustomers sums over the owned partitions the counter stores' customer
// entries (every customer interned) and those with at least one counter.
func (d *Daemon) CounterStoreCustomers() (entries, withCounters int) {
	d.eachPartition(func(p *partition) {
		entries += p.counts.custs.len()
		withCounters += p.counts.customers()
	})
	return entries, withCounters
}

// ErrReplaysRunning is the error of a revoke's or the stop's snapshot held back while
// ended versions' replays run.
var ErrReplaysRunning = errReplaysRunning
