package bench

import (
	"strconv"

	"github.com/hindsightdev/hindsight/internal/workload"
)

// Workload is the seeded event stream every benchmark draws from (internal/workload):
// the same seed gives the same events, so two runs measure the same work.
type Workload struct {
	// Seed seeds events and rules. Default 1.
	Seed uint64
	// Customers is the number of distinct customers of the events and of the
	// customer-scoped rules. Default 100, at most MaxCustomers.
	Customers int
	// EventSize pads events shorter than this many bytes (workload.Config.Size).
	// Default 0: the generator's natural 300–800 bytes.
	EventSize int
}

// EnsureDefaults fills unset fields with their documented defaults.
func (w *Workload) EnsureDefaults() {
	orDefault(&w.Seed, 1)
	orDefault(&w.Customers, 100)
	w.EventSize = max(w.EventSize, 0)
}

func (w Workload) generator() *workload.Generator {
	return workload.New(w.Seed, workload.Config{Customers: w.Customers, Size: w.EventSize})
}

func (w Workload) params(p map[string]string) map[string]string {
	p["seed"] = strconv.FormatUint(w.Seed, 10)
	p["customers"] = strconv.Itoa(w.Customers)
	if w.EventSize > 0 {
		p["event_size"] = strconv.Itoa(w.EventSize)
	}
	return p
}
