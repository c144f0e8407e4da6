package bench

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// What the machine did while the slowest probes were in flight. A tail bunched into a
// few steps is a pause, but whose: this process's (its CPU high, or nothing of it
// running), the broker child's (its CPU high), another process's, or the machine's
// own (the hypervisor running another guest: stolen time, and every process here
// stopped at once). The sampler keeps, per sampleStep, the CPU this process, the
// broker child and the machine used, the time the hypervisor stole, and how late a
// goroutine of this process that sleeps 1 ms at a time woke: a sleeper woken 100 ms
// late with this process idle and nothing stolen points at the scheduler of the
// operating system, with time stolen at the hypervisor.

// stepUse is what the machine did in one sampleStep.
type stepUse struct {
	self, broker, busy, stolen time.Duration
	// late is the sleeper's latest wake-up in the step (beyond its 1 ms).
	late time.Duration
}

// sleeperNap is the sampling sleeper's nap: short enough that a pause of a few
// milliseconds shows, long enough that the sampling costs nothing seen (a thousand
// wake-ups a second).
const sleeperNap = time.Millisecond

// stepSampler fills use, by sampleStep since t0: a sleeper naps sleeperNap at a time,
// and at the first wake-up in each step it reads this process's CPU, the broker
// child's (none for nil) and the machine's. What they used since the last reading is
// the step that reading was in (steps the sleeper slept through add to it); a late
// wake-up is the step it woke in.
type stepSampler struct {
	t0    time.Time
	use   []stepUse
	child *brokerChild
	// The last reading, and its step.
	self, broker, busy, stolen time.Duration
	machine                    bool
	last                       int
}

// newStepSampler takes the first reading: what is used from now on is in use.
func newStepSampler(t0 time.Time, use []stepUse, child *brokerChild) *stepSampler {
	s := &stepSampler{t0: t0, use: use, child: child, self: selfCPU(), broker: child.cpuNow()}
	s.busy, s.stolen, s.machine = machineTicks()
	s.last = bucket(t0, time.Now(), len(use))
	return s
}

// run samples until ctx ends.
func (s *stepSampler) run(ctx context.Context) {
	for ctx.Err() == nil {
		before := time.Now()
		time.Sleep(sleeperNap)
		now := time.Now()
		step := bucket(s.t0, now, len(s.use))
		s.use[step].late = max(s.use[step].late, now.Sub(before)-sleeperNap)
		if step == s.last {
			continue
		}
		u := &s.use[s.last]
		s.last = step
		self, broker := selfCPU(), s.child.cpuNow()
		u.self, u.broker = self-s.self, broker-s.broker
		s.self, s.broker = self, broker
		if s.machine {
			if busy, stolen, ok := machineTicks(); ok {
				u.busy, u.stolen = busy-s.busy, stolen-s.stolen
				s.busy, s.stolen = busy, stolen
			}
		}
	}
}

// TailStep is the machine's use while the probes sent in one step were in flight:
// from the step's start to the slowest one's arrival.
type TailStep struct {
	// At is the step's start, from the first event sent (warmup included).
	At time.Duration
	// SlowestMs is the slowest probe sent in the step, in ms.
	SlowestMs float64
	// Steps is how many sampleSteps the figures below cover.
	Steps int
	// Cores used meanwhile, on average: this process, the broker child, every other
	// process, and the time the hypervisor gave to other guests.
	Self, Broker, Others, Stolen float64
	// SleeperLateMs is the latest a 1 ms sleeper in this process woke meanwhile, in ms.
	SleeperLateMs float64
}

// tailSteps is the machine's use around the worst steps of maxBySend (ms by send
// step): at most n, slowest first.
func tailSteps(maxBySend []float64, use []stepUse, n int) []TailStep {
	order := make([]int, 0, len(maxBySend))
	for s, ms := range maxBySend {
		if ms > 0 {
			order = append(order, s)
		}
	}
	// Slowest first; among equals, the earlier step.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(maxBySend[b], maxBySend[a]) })
	var out []TailStep
	for _, s := range order[:min(n, len(order))] {
		ms := maxBySend[s]
		// The probes sent in step s were in flight from its start to the slowest's
		// arrival, at most ms after the step's end.
		end := min(len(use)-1, s+int((time.Duration(ms*1e6)+sampleStep-1)/sampleStep))
		ts := TailStep{At: time.Duration(s) * sampleStep, SlowestMs: ms, Steps: end - s + 1}
		var self, broker, busy, stolen time.Duration
		for _, u := range use[s : end+1] {
			self, broker, busy, stolen = self+u.self, broker+u.broker, busy+u.busy, stolen+u.stolen
			ts.SleeperLateMs = max(ts.SleeperLateMs, float64(u.late)/1e6)
		}
		wall := (time.Duration(ts.Steps) * sampleStep).Seconds()
		ts.Self, ts.Broker = self.Seconds()/wall, broker.Seconds()/wall
		// /proc/stat counts in 10 ms ticks, the processes' own figures finer: the
		// difference is clamped rather than shown below zero.
		ts.Others, ts.Stolen = max(0, (busy-self-broker).Seconds()/wall), stolen.Seconds()/wall
		out = append(out, ts)
	}
	return out
}
