package bench

import (
	"slices"
	"testing"
	"time"
)

// TestLatencyTail checks fillTail's account of when the slowest probes were sent.
func TestLatencyTail(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	for _, tc := range []struct {
		name                                   string
		steps                                  []int32 // the step each probe was sent in
		slow                                   map[int]time.Duration
		tailSteps, inWorst5, measured, maxStep int
	}{
		{
			name:  "one pause",
			steps: repeatSteps(8, 100), // 800 probes, 100 per step
			slow:  map[int]time.Duration{300: 90 * ms, 301: 80 * ms, 302: 70 * ms, 303: 60 * ms, 304: 50 * ms, 305: 40 * ms, 306: 30 * ms, 307: 20 * ms},
			// The slowest 1% is 8 probes, all sent in step 3.
			tailSteps: 1, inWorst5: 8, measured: 8, maxStep: 3,
		},
		{
			name:      "spread",
			steps:     repeatSteps(8, 100),
			slow:      map[int]time.Duration{0: 20 * ms, 100: 20 * ms, 200: 20 * ms, 300: 20 * ms, 400: 20 * ms, 500: 20 * ms, 600: 20 * ms, 700: 90 * ms},
			tailSteps: 8, inWorst5: 5, measured: 8, maxStep: 7,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &measurement{sentStep: tc.steps}
			for i := range tc.steps {
				d, ok := tc.slow[i]
				if !ok {
					d = ms
				}
				m.latency = append(m.latency, d)
			}
			var f LatencyFigures
			m.fillTail(&f)
			if f.TailEvents != 8 || f.TailSteps != tc.tailSteps || f.TailInWorst5 != tc.inWorst5 || f.MeasuredSteps != tc.measured {
				t.Errorf("tail %d probes in %d of %d steps, %d in the worst five; want 8 in %d of %d, %d",
					f.TailEvents, f.TailSteps, f.MeasuredSteps, f.TailInWorst5, tc.tailSteps, tc.measured, tc.inWorst5)
			}
			if got := slices.Index(f.MaxBySend, slices.Max(f.MaxBySend)); got != tc.maxStep || f.MaxBySend[got] != 90 {
				t.Errorf("slowest per step %v: want 90 ms in step %d", f.MaxBySend, tc.maxStep)
			}
		})
	}
}

// repeatSteps is steps 0..n-1, each per times.
func repeatSteps(n, per int) []int32 {
	var out []int32
	for s := range n {
		for range per {
			out = append(out, int32(s))
		}
	}
	return out
}
