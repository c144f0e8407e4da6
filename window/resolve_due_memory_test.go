package window_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// TestResolveIncidentMemoryIsPerIncident: an open incident is one record per (customer,
// group), bounded by max_groups. With alert.resolve, each later crossing of the group
// during the incident extends its close time to that window's end; the state must not
// keep a record per such crossing. With a day-long window every minute (1,440 windows
// an event), a group seen every minute crosses a new window each minute: the retained memory per group of
// the resolving rule must be that of an incident, as for the same rule without resolve,
// not of 1,440 queued close times, each with its own copy of the group id.
//
// Only the steady case is measured: after one event a group holds so little that the
// collector's noise (tens of KiB a group at 100 groups) passed the margin once the
// entries were gone; TestDueHoldsOneEntryPerIncident counts the entries instead.
func TestResolveIncidentMemoryIsPerIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds 576,000 events (7 s): make test runs it")
	}
	const groups = 400
	const minute = 60_000
	for _, tc := range []struct {
		name          string
		with, without string // the alert blocks
		events        int    // per group, a minute apart
	}{
		{"steady", `"resolve":true`, `"suppress":"1d"`, 1440},
	} {
		t.Run(tc.name, func(t *testing.T) {
			retained := map[string]float64{}
			for _, alert := range []string{tc.without, tc.with} {
				r := mustRule(t, `"group_by":["$.g"],"window":{"size":"1440m","every":"1m"},"threshold":1,"alert":{`+alert+`}`)
				st := window.New(r, window.Limits{})
				f := newFeeder()
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for i := range tc.events {
					for g := range groups {
						f.add(t, st, in{"c1", fmt.Sprintf(`{"g":"group-%04d"}`, g), 86_400_000 + int64(i)*minute})
						f.out = f.out[:0]
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				if st.Incidents() != groups {
					t.Fatalf("alert {%s}: %d incidents, want %d", alert, st.Incidents(), groups)
				}
				retained[alert] = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / groups
				t.Logf("alert {%s}: %.0f bytes retained per group (%d incidents, %d crossings suppressed)", alert, retained[alert], st.Incidents(), st.Stats().Suppressed)
				runtime.KeepAlive(st)
				runtime.KeepAlive(f)
			}
			without, with := retained[tc.without], retained[tc.with]
			// An incident is a few hundred bytes; 16 KiB leaves room for the GC's noise.
			if with-without > 16<<10 {
				t.Errorf("alert {%s} retains %.0f bytes per open incident, alert {%s} %.0f: the resolving state keeps an entry per crossing it suppressed", tc.with, with, tc.without, without)
			}
		})
	}
}
