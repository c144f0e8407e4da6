// Package memlimit holds a process's memory under one soft limit that the Go runtime
// and the memory it does not manage share.
//
// The archive keeps its large buffers outside the Go heap (lakehouse's buffer cache),
// so the runtime's own soft limit (debug.SetMemoryLimit, GOMEMLIMIT) does not see
// them: set to the process's budget it would let the heap grow into the archive's
// share. A Governor sets the runtime's limit to the budget less the off-heap bytes in
// use, again every Interval, so that the collector works harder, and gives memory
// back to the system sooner, as the whole process nears the budget.
//
// Contract:
//   - The limit is soft: a process that needs more than it still runs, with the
//     collector taking more CPU (the runtime caps that at about half). Every tick
//     that finds the whole process at ReleaseShare of the limit or more calls Release
//     (to give back what is kept for reuse: off-heap memory grows between ticks, in
//     bursts of a file's buffers), and one at the limit or over calls OnReached.
//   - The runtime's limit never drops below MinGoShare of the limit: off-heap memory
//     near the budget must not leave the heap a limit it cannot keep, which would have
//     the collector run back to back.
//   - One Governor runs per process at a time (the runtime's limit is process-wide):
//     Run returns ErrRunning while another runs, and restores the runtime's previous
//     limit when it returns.
package memlimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultInterval is Config.Interval's default.
const DefaultInterval = 50 * time.Millisecond

// MinGoShare is the smallest share of the limit the Go runtime's own limit is set to.
const MinGoShare = 0.25

// ReleaseShare is the share of the limit from which memory kept for reuse is given back.
const ReleaseShare = 0.9

// ErrRunning is Run's error while another Governor of the process runs.
var ErrRunning = errors.New("memlimit: another memory limit is already in force in this process")

// Config configures a Governor.
type Config struct {
	// Limit is the process's memory budget in bytes: the Go runtime's memory (heap,
	// stacks, its own structures, less what it gave back to the system) plus OffHeap.
	// It must be positive.
	Limit int64
	// OffHeap reports the bytes the process holds outside the Go runtime. Default: none.
	OffHeap func() int64
	// Release gives back to the system memory outside the runtime kept for reuse;
	// called on every tick that finds the process at ReleaseShare of Limit or more.
	// Default: nothing.
	Release func()
	// OnReached is called on every tick that finds the process at or over Limit (after
	// Release). Default: nothing.
	OnReached func()
	// Interval is how often the off-heap bytes are read again. Default DefaultInterval.
	Interval time.Duration
}

// EnsureDefaults fills unset fields with their documented defaults.
func (c *Config) EnsureDefaults() {
	if c.OffHeap == nil {
		c.OffHeap = func() int64 { return 0 }
	}
	if c.Release == nil {
		c.Release = func() {}
	}
	if c.OnReached == nil {
		c.OnReached = func() {}
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
}

// Validate reports configuration mistakes.
func (c *Config) Validate() error {
	if c.Limit <= 0 {
		return fmt.Errorf("memlimit: the limit must be positive, got %d bytes", c.Limit)
	}
	return nil
}

// Governor keeps the process under Config.Limit while Run runs.
type Governor struct {
	cfg Config
	// total and goLimit are the last tick's figures, for gauges; reached counts the
	// ticks at the limit or over.
	total, goLimit, reached atomic.Int64
	samples                 []metrics.Sample
}

// running is set while a Governor runs: the runtime's limit is the process's.
var running atomic.Bool

// New returns a Governor of cfg (defaults applied); Run starts it.
func New(cfg Config) (*Governor, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Governor{cfg: cfg, samples: []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}}, nil
}

// Total is the process's memory at the last tick: the Go runtime's, less what it
// released, plus the off-heap bytes.
func (g *Governor) Total() int64 { return g.total.Load() }

// GoLimit is the Go runtime's soft limit the last tick set.
func (g *Governor) GoLimit() int64 { return g.goLimit.Load() }

// Reached is how many ticks found the process at its limit or over.
func (g *Governor) Reached() int64 { return g.reached.Load() }

// Collectors are the governor's gauges: hindsight_memory_bytes (Total) and
// hindsight_memory_go_limit_bytes (GoLimit).
func (g *Governor) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hindsight_memory_bytes",
			Help: "This process's memory as --memory-limit counts it: the Go runtime's (less what it gave back) and the archive's buffers off the Go heap."},
			func() float64 { return float64(g.Total()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hindsight_memory_go_limit_bytes",
			Help: "The Go runtime's soft memory limit: --memory-limit less the archive's buffers off the Go heap, at least a quarter of it."},
			func() float64 { return float64(g.GoLimit()) }),
	}
}

// Tight reports that the last tick found the process at ReleaseShare of the limit or
// more: work that would take more memory and can wait (a second file encoded at
// once) should.
func (g *Governor) Tight() bool {
	return float64(g.total.Load()) >= ReleaseShare*float64(g.cfg.Limit)
}

// Run applies the limit until ctx ends, then restores the runtime's previous limit.
func (g *Governor) Run(ctx context.Context) error {
	if !running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer running.Store(false)
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	t := time.NewTicker(g.cfg.Interval)
	defer t.Stop()
	for {
		g.tick()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tick sets the runtime's limit from the off-heap bytes in use now, and releases
// memory kept for reuse when the whole process nears its limit.
func (g *Governor) tick() {
	off := max(g.cfg.OffHeap(), 0)
	goLimit := max(g.cfg.Limit-off, int64(math.Ceil(MinGoShare*float64(g.cfg.Limit))))
	debug.SetMemoryLimit(goLimit)
	g.goLimit.Store(goLimit)
	metrics.Read(g.samples)
	used := int64(g.samples[0].Value.Uint64() - g.samples[1].Value.Uint64())
	total := used + off
	g.total.Store(total)
	if float64(total) >= ReleaseShare*float64(g.cfg.Limit) {
		g.cfg.Release()
	}
	if total >= g.cfg.Limit {
		g.reached.Add(1)
		g.cfg.OnReached()
	}
}
