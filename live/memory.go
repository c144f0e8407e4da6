package live

import (
	"fmt"

	"github.com/hindsightdev/hindsight/internal/memlimit"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// newMemoryGovernor returns the governor of Config.MemoryLimit (nil without one), its
// gauges registered: the process's memory and the runtime's share of the budget.
func (d *Daemon) newMemoryGovernor() (*memlimit.Governor, error) {
	if d.cfg.MemoryLimit == 0 {
		return nil, nil
	}
	g, err := lakehouse.NewMemoryGovernor(d.cfg.MemoryLimit, func() { d.m.limits.Reached(limitMemory) })
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	d.cfg.Registry.MustRegister(g.Collectors()...)
	return g, nil
}
