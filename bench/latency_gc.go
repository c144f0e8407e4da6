package bench

import (
	"math"
	"runtime/metrics"
	"time"
)

// GCFigures are this process's garbage collections over a phase: the process hosts
// the daemon, the producer and the alerts consumer, so a pause stops them all.
type GCFigures struct {
	Cycles   int64
	CPU      time.Duration // the collector's CPU time, assists and background marking
	MaxPause time.Duration // the longest stop-the-world pause (an upper bound: a bucket's top)
	// MaxStopping is the longest wait, within those pauses, for every running goroutine
	// to stop (same bound): a goroutine in a loop the scheduler cannot preempt, or a
	// thread the kernel has not scheduled, holds the whole process this long.
	MaxStopping time.Duration
}

// gcReading is the runtime's cumulative GC counters at one instant.
type gcReading struct {
	cycles           uint64
	cpu              float64
	pauses, stopping metrics.Float64Histogram
}

var gcMetrics = []string{"/gc/cycles/total:gc-cycles", "/cpu/classes/gc/total:cpu-seconds", "/sched/pauses/total/gc:seconds", "/sched/pauses/stopping/gc:seconds"}

func readGC() gcReading {
	s := make([]metrics.Sample, len(gcMetrics))
	for i, n := range gcMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	r := gcReading{}
	if s[0].Value.Kind() == metrics.KindUint64 {
		r.cycles = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindFloat64 {
		r.cpu = s[1].Value.Float64()
	}
	hist := func(s metrics.Sample) metrics.Float64Histogram {
		if s.Value.Kind() != metrics.KindFloat64Histogram {
			return metrics.Float64Histogram{}
		}
		h := s.Value.Float64Histogram()
		return metrics.Float64Histogram{Counts: append([]uint64(nil), h.Counts...), Buckets: h.Buckets}
	}
	r.pauses, r.stopping = hist(s[2]), hist(s[3])
	return r
}

// since is what the collector did from r to now.
func (r gcReading) since() GCFigures {
	now := readGC()
	return GCFigures{
		Cycles: int64(now.cycles - r.cycles), CPU: time.Duration((now.cpu - r.cpu) * float64(time.Second)),
		MaxPause: longestSince(r.pauses, now.pauses), MaxStopping: longestSince(r.stopping, now.stopping),
	}
}

// longestSince is the top of the highest bucket of histogram now that grew since then.
func longestSince(then, now metrics.Float64Histogram) time.Duration {
	for i := len(now.Counts) - 1; i >= 0; i-- {
		before := uint64(0)
		if i < len(then.Counts) {
			before = then.Counts[i]
		}
		if now.Counts[i] > before {
			top := now.Buckets[i+1]
			if math.IsInf(top, 1) {
				top = now.Buckets[i]
			}
			return time.Duration(top * float64(time.Second))
		}
	}
	return 0
}
