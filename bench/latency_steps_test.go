package bench

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestTailSteps checks the account of the machine around the worst steps: which steps,
// over how many steps each, and the cores of each part.
func TestTailSteps(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	// Ten steps, this process using 50 ms of CPU per 100 ms step and the machine 80
	// (so 30 others); step 4 to 5 a pause: the broker busy, 60 ms stolen, the sleeper
	// late by 90 ms.
	use := make([]stepUse, 10)
	for i := range use {
		use[i] = stepUse{self: 50 * ms, busy: 80 * ms, late: ms / 10}
	}
	use[4] = stepUse{self: 10 * ms, broker: 90 * ms, busy: 110 * ms, stolen: 60 * ms, late: 20 * ms}
	use[5] = stepUse{self: 10 * ms, broker: 70 * ms, busy: 80 * ms, stolen: 60 * ms, late: 90 * ms}
	maxBySend := []float64{3, 2, 0, 5, 180, 4, 2, 1, 95, 0}

	got := tailSteps(maxBySend, use, 3)
	want := []TailStep{
		// Sent in step 4, the slowest 180 ms later: steps 4 to 6.
		{At: 400 * ms, SlowestMs: 180, Steps: 3, Self: 0.7 / 3, Broker: 1.6 / 3, Others: 0.4 / 3, Stolen: 1.2 / 3, SleeperLateMs: 90},
		// Step 8, 95 ms: steps 8 and 9.
		{At: 800 * ms, SlowestMs: 95, Steps: 2, Self: 0.5, Broker: 0, Others: 0.3, Stolen: 0, SleeperLateMs: 0.1},
		// Step 3, 5 ms: steps 3 and 4 (the slowest arrived in the next).
		{At: 300 * ms, SlowestMs: 5, Steps: 2, Self: 0.3, Broker: 0.45, Others: 0.2, Stolen: 0.3, SleeperLateMs: 20},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d steps, want %d: %+v", len(got), len(want), got)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for i, w := range want {
		g := got[i]
		if g.At != w.At || g.SlowestMs != w.SlowestMs || g.Steps != w.Steps || !near(g.Self, w.Self) || !near(g.Broker, w.Broker) ||
			!near(g.Others, w.Others) || !near(g.Stolen, w.Stolen) || !near(g.SleeperLateMs, w.SleeperLateMs) {
			t.Errorf("worst step %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	// A run near its end: the window stops at the last step.
	if got := tailSteps([]float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 400}, use, 3); len(got) != 1 || got[0].Steps != 1 || got[0].At != 900*ms {
		t.Errorf("last step: got %+v, want one step of one", got)
	}
	if got := tailSteps(make([]float64, 10), use, 3); len(got) != 0 {
		t.Errorf("no probe timed: got %+v", got)
	}
}

// TestStepSamplerCountsThisProcess burns a known amount of CPU while a stepSampler
// runs and checks that its steps hold it: CPU time, not wall time, so a busy machine
// only makes the test longer.
func TestStepSamplerCountsThisProcess(t *testing.T) {
	t.Parallel()
	use := make([]stepUse, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	// The first reading is taken here, before the burn starts.
	s := newStepSampler(time.Now(), use, nil)
	go func() {
		defer close(done)
		s.run(ctx)
	}()
	const burn = 300 * time.Millisecond
	start := selfCPU()
	x := 1.0
	for selfCPU()-start < burn {
		for range 10000 {
			x = x*1.0000001 + 1e-9
		}
	}
	// Past the step the burn ended in, so that a reading after it is taken.
	time.Sleep(2 * sampleStep)
	cancel()
	<-done
	var self, broker time.Duration
	steps := 0
	for _, u := range use {
		self, broker = self+u.self, broker+u.broker
		if u.self > 0 {
			steps++
		}
	}
	if self < burn {
		t.Errorf("the steps hold %v of this process's CPU; it burned %v (x=%v)", self, burn, x)
	}
	if broker != 0 {
		t.Errorf("the steps hold %v of a broker's CPU with no broker", broker)
	}
	if steps < 2 {
		t.Errorf("CPU in %d steps; a burn of %v spans at least 2 steps of %v", steps, burn, sampleStep)
	}
}
