// Package limitmetric is where every limit of a hindsight process shows in /metrics
// (README.md, "Limits"): hindsight_limit{name}, its configured value, and
// hindsight_limit_reached_total{name}, the times it was reached.
//
// The families are defined once because more than one stage reports into them: the
// live daemon and the archiver it embeds share one registry, and a standalone
// `hindsight archive` registers them itself. A stage that takes a Limits from its
// caller reports into the caller's families; one that gets none makes its own.
package limitmetric

import "github.com/prometheus/client_golang/prometheus"

// Limits are the two families. Their methods may be called from any goroutine.
type Limits struct {
	value   *prometheus.GaugeVec
	reached *prometheus.CounterVec
}

// New returns the families, not yet registered.
func New() *Limits {
	return &Limits{
		value: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hindsight_limit", Help: "Configured value of each limit (README.md, \"Limits\"); durations in seconds, sizes in bytes."}, []string{"name"}),
		reached: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hindsight_limit_reached_total", Help: "Times a request reached a limit (refused, cut short or made to wait), by limit."}, []string{"name"}),
	}
}

// Collectors are the families, for a registry.
func (l *Limits) Collectors() []prometheus.Collector {
	return []prometheus.Collector{l.value, l.reached}
}

// Show sets the limit's value, for a limit whose reaching shows elsewhere (a rejected
// rule's error, a counter of its own).
func (l *Limits) Show(name string, value float64) { l.value.WithLabelValues(name).Set(value) }

// ShowCounted sets the value of a limit whose reaches Reached counts, and shows that
// count at 0 until it is first reached: a count that appears only then cannot be told
// apart from a limit nobody counts.
func (l *Limits) ShowCounted(name string, value float64) {
	l.Show(name, value)
	l.reached.WithLabelValues(name)
}

// Reached counts the limit reached once.
func (l *Limits) Reached(name string) { l.reached.WithLabelValues(name).Inc() }

// Value is the gauge of the limit's value (for limits whose value changes).
func (l *Limits) Value(name string) prometheus.Gauge { return l.value.WithLabelValues(name) }

// Count is the counter of the limit's reaches (for callers that add more than one).
func (l *Limits) Count(name string) prometheus.Counter { return l.reached.WithLabelValues(name) }
