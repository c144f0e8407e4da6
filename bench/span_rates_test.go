package bench

import (
	"testing"
	"time"
)

// TestSpanRatesHoldTheEventsRead: the values a run's last span adds, times the series'
// step, hold at least the events read in it (the series' contract: values times the
// step add up to the events read), whether the span ends within a step or past it.
func TestSpanRatesHoldTheEventsRead(t *testing.T) {
	for _, tc := range []struct {
		d     time.Duration
		steps int
	}{
		{sampleStep / 2, 1},
		{sampleStep, 1},
		{sampleStep + sampleStep/20, 2},
		{3*sampleStep + 1, 4},
	} {
		const n = 20_000.0
		vs := spanRates(n, tc.d)
		sum := 0.0
		for _, v := range vs {
			sum += v * sampleStep.Seconds()
		}
		if len(vs) != tc.steps || sum < n-1e-6 {
			t.Errorf("%d events over %s: %d values %v holding %.1f events, want %d values holding at least %.0f", int(n), tc.d, len(vs), vs, sum, tc.steps, n)
		}
		if want := n / tc.d.Seconds(); vs[0] != want {
			t.Errorf("%s: rate %.1f, want the span's mean %.1f", tc.d, vs[0], want)
		}
	}
}
