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
}

// gcReading is the runtime's cumulative GC counters at one instant.
type gcReading struct {
	cycles uint64
	cpu    float64
	pauses metrics.Float64Histogram
}

var gcMetrics = []string{"/gc/cycles/total:gc-cycles", "/cpu/classes/gc/total:cpu-seconds", "/sched/pauses/total/gc:seconds"}

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
	if s[2].Value.Kind() == metrics.KindFloat64Histogram {
		h := s[2].Value.Float64Histogram()
		r.pauses = metrics.Float64Histogram{Counts: append([]uint64(nil), h.Counts...), Buckets: h.Buckets}
	}
	return r
}

// since is what the collector did from r to now.
func (r gcReading) since() GCFigures {
	now := readGC()
	f := GCFigures{Cycles: int64(now.cycles - r.cycles), CPU: time.Duration((now.cpu - r.cpu) * float64(time.Second))}
	for i := len(now.pauses.Counts) - 1; i >= 0; i-- {
		before := uint64(0)
		if i < len(r.pauses.Counts) {
			before = r.pauses.Counts[i]
		}
		if now.pauses.Counts[i] > before {
			top := now.pauses.Buckets[i+1]
			if math.IsInf(top, 1) {
				top = now.pauses.Buckets[i]
			}
			f.MaxPause = time.Duration(top * float64(time.Second))
			break
		}
	}
	return f
}
