package window_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/window"
)

// TestAlertOfAResolvedCrossingIsResolved: an incident's close (rule with resolve) is a
// Crossing with Resolved set carrying its opening alert's window; its alert record has
// status resolved and the opening alert's id, so that notify ends that alert. Its
// firing alert is the same record with status firing.
func TestAlertOfAResolvedCrossingIsResolved(t *testing.T) {
	r := mustRule(t, `"group_by":["$.g"],"window":{"size":"10s"},"alert":{"resolve":true},"threshold":1`)
	st := window.New(r, window.Limits{})
	doc := jsonpath.NewDocument()
	var got []window.Crossing
	for i, ms := range []int64{1000, 25_000} {
		if err := doc.Reset([]byte(`{"g":"a"}`)); err != nil {
			t.Fatal(err)
		}
		st.Add(&window.Event{Customer: "c", Doc: doc, Time: time.UnixMilli(ms), Offset: int64(i)}, func(c window.Crossing) {
			c.Group, c.Samples = append([]byte(nil), c.Group...), append([]int64(nil), c.Samples...)
			got = append(got, c)
		})
	}
	// The first event fires [0, 10s); the second closes that incident (resolved), then
	// fires [20s, 30s).
	if len(got) != 3 || got[0].Resolved || !got[1].Resolved || got[1].Start != 0 {
		t.Fatalf("crossings %+v: want a firing of [0, 10s), its resolve, a firing of [20s, 30s)", got)
	}
	firing, err := window.Alert(r, got[0], 0, 0, time.UnixMilli(1000), contract.SourceLive)
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := window.Alert(r, got[1], 0, 1, time.UnixMilli(25_000), contract.SourceLive)
	if err != nil {
		t.Fatal(err)
	}
	if firing.Status != contract.StatusFiring || resolved.Status != contract.StatusResolved {
		t.Errorf("statuses %q and %q, want %q and %q", firing.Status, resolved.Status, contract.StatusFiring, contract.StatusResolved)
	}
	if resolved.AlertID != firing.AlertID {
		t.Errorf("resolved alert id %q, want the firing's %q", resolved.AlertID, firing.AlertID)
	}
}
