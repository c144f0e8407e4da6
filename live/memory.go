package live

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/memlimit"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// newMemoryGovernor returns the governor of Config.MemoryLimit (nil without one), its
// gauges registered: the process's memory and the runtime's share of the budget.
func (d *Daemon) newMemoryGovernor() (*memlimit.Governor, error) {
	d.m.limitReached.WithLabelValues(limitMemory) // present at 0 before the first time
	if d.cfg.MemoryLimit == 0 {
		return nil, nil
	}
	g, err := memlimit.New(memlimit.Config{
		Limit:     d.cfg.MemoryLimit,
		OffHeap:   lakehouse.OffHeapBytes,
		Release:   lakehouse.ReleaseBuffers,
		OnReached: func() { d.m.limitReached.WithLabelValues(limitMemory).Inc() },
	})
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	d.cfg.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hindsight_memory_bytes",
			Help: "This process's memory as --memory-limit counts it: the Go runtime's (less what it gave back) and the archive's buffers off the Go heap."},
			func() float64 { return float64(g.Total()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hindsight_memory_go_limit_bytes",
			Help: "The Go runtime's soft memory limit: --memory-limit less the archive's buffers off the Go heap, at least a quarter of it."},
			func() float64 { return float64(g.GoLimit()) }),
	)
	return g, nil
}
