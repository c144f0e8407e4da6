package live

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestLostCrossingAlertFields: a running total's history alert whose crossing event is
// no longer readable names the job's start offset and the version's time (documented),
// but every other field must still be the one an uninterrupted run writes: a running
// total's count and value equal its threshold (the crossing is the event that took the
// count to it, whatever history held after), and a rule with alert.context maps each
// context path (to null, nothing being known) rather than writing no context at all.
func TestLostCrossingAlertFields(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 0)
	d := f.d
	d.m = newMetrics(prometheus.NewRegistry())
	d.log = d.cfg.Logger
	// An empty lake and no brokers: no crossing event is found.
	lake, err := lakehouse.OpenLake(context.Background(), "file://"+t.TempDir(), lakehouse.StorageConfig{Logger: d.log})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	d.rules = controls.NewRegistry()
	d.bf = &backfiller{ctx: context.Background(), log: d.log, history: backtest.Config{Lake: lake}, minBackoff: time.Millisecond, maxBackoff: time.Millisecond}
	r := &rule.Rule{ID: "fails", Scope: rule.GlobalScope, Version: 1, Threshold: rule.AtLeast(5),
		When:  &rule.Condition{Path: "$.kind", Op: rule.OpEq, Value: []byte(`"fail"`)},
		Alert: &rule.AlertOptions{Context: []string{"$.user"}}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	ar := &controls.Version{Rule: r, Key: r.Key(), Fingerprint: controls.Fingerprint(r), Seq: 1, UpdatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	p := newPartition(0)
	p.next = 100
	pb := &pendingBackfill{start: 100, began: time.Now(), cancel: func() {}}
	// History counted 12 matches of c-1: its count went past the threshold of 5.
	recs := d.locateCrossings(p, ar, pb, &owedAlerts{customers: map[string]int64{"c-1": 12}, end: 100})
	if len(recs) != 1 {
		t.Fatalf("%d alerts, want 1", len(recs))
	}
	var a contract.Alert
	if err := json.Unmarshal(recs[0].Value, &a); err != nil {
		t.Fatal(err)
	}
	t.Logf("alert: %s", recs[0].Value)
	if a.Offset != 99 {
		t.Fatalf("offset %d, want the documented start-1 = 99 (the test's premise)", a.Offset)
	}
	ctx := a.Context
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"count", a.Count, int64(5)},
		{"value", a.Value, float64(5)},
		{"context has $.user", func() bool { _, ok := ctx["$.user"]; return ok }(), true},
		{"context $.user", string(ctx["$.user"]), "null"},
		// No event is known, so none is named: contract.Alert.Samples, null here.
		{"samples null", a.Samples == nil, true},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v (as an uninterrupted run's alert)", c.field, c.got, c.want)
		}
	}
}
