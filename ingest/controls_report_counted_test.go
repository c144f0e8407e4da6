package ingest

import (
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestReportCountsEachControlByItsOutcome: hindsight_controls_total counts each
// control reported under its own outcome: an invalid control counted as ok hid a
// rules file the daemon refused. No ingest test read the counter.
func TestReportCountsEachControlByItsOutcome(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := testControlReader(t, b, nil)
	r.Report(contract.ControlStatus{Key: "*/a", Offset: 0, Status: contract.ControlOK})
	r.Report(contract.ControlStatus{Key: "*/b", Offset: 1, Status: contract.ControlInvalid})
	r.Report(contract.ControlStatus{Key: "*/c", Offset: 2, Status: contract.ControlInvalid})
	for status, want := range map[string]float64{contract.ControlOK: 1, contract.ControlInvalid: 2} {
		var m dto.Metric
		if err := r.cfg.Metrics.Controls.WithLabelValues(status).Write(&m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetCounter().GetValue(); got != want {
			t.Errorf("hindsight_controls_total{status=%q} = %v, want %v", status, got, want)
		}
	}
}
