// Package promtest reads metrics back from a Prometheus registry, for tests that check
// what a stage exported. A metric absent from the registry reads as 0 (Sum) or -1
// (Value), so that an assertion on it fails rather than the helper.
package promtest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Sum is the sum of the samples of counter or gauge name in reg, over every label set.
func Sum(t testing.TB, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	sum := 0.0
	for _, m := range series(t, reg, name) {
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return sum
}

// Value is the sample of counter or gauge name in reg whose label is value; -1 when
// there is none.
func Value(t testing.TB, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	for _, m := range series(t, reg, name) {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func series(t testing.TB, reg prometheus.Gatherer, name string) []*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}
