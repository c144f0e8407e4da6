package live

// Test hooks for the external tests of the HTTP API (package live_test).

// HoldPartitions locks every owned partition, as a batch being evaluated does, until
// the returned function is called: a request that reads counters waits meanwhile.
func HoldPartitions(d *Daemon) (release func()) {
	ps := d.ownedPartitions()
	for _, p := range ps {
		p.mu.Lock()
	}
	return func() {
		for _, p := range ps {
			p.mu.Unlock()
		}
	}
}
