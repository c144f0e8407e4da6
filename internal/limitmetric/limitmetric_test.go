package limitmetric_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/limitmetric"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// A counted limit shows its reaches from 0; an uncounted one shows its value alone;
// Count and Value are those series.
func TestLimits(t *testing.T) {
	reg := prometheus.NewRegistry()
	l := limitmetric.New()
	reg.MustRegister(l.Collectors()...)
	l.ShowCounted("counted", 10)
	l.ShowCounted("unreached", 5)
	l.Show("uncounted", 1)
	l.Show("uncounted", 2.5) // a value shown again replaces the one before
	l.Reached("counted")
	l.Reached("counted")
	l.Count("counted").Add(3)
	l.Value("changing").Set(7)
	for _, tc := range []struct {
		metric, name string
		want         float64
	}{
		{"hindsight_limit", "counted", 10},
		{"hindsight_limit", "uncounted", 2.5},
		{"hindsight_limit_reached_total", "counted", 5},
		{"hindsight_limit_reached_total", "unreached", 0},
		{"hindsight_limit", "changing", 7},
		{"hindsight_limit_reached_total", "changing", -1},
		{"hindsight_limit_reached_total", "uncounted", -1}, // absent
	} {
		if got := promtest.Value(t, reg, tc.metric, "name", tc.name); got != tc.want {
			t.Errorf("%s{name=%q} = %v, want %v", tc.metric, tc.name, got, tc.want)
		}
	}
}
