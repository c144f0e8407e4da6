package window_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/window"
)

// TestAddToOpenWindowAllocatesNothing guards the daemon's hot path: an event that
// goes to a (group, window) already open allocates nothing, whatever the aggregate.
// Each event the live daemon evaluates passes here once per windowed rule it matches,
// so one allocation here is one per event and rule (500 with the throughput
// benchmark's 1,000 rules), and garbage the collector must chase at that rate. What a
// new group or window costs is state, and is measured by BenchmarkWindowMemory.
func TestAddToOpenWindowAllocatesNothing(t *testing.T) {
	const groups = 50
	docs := make([]*jsonpath.Document, groups)
	for i := range docs {
		docs[i] = jsonpath.NewDocument()
		if err := docs[i].Reset(fmt.Appendf(nil, `{"g":"group-%d","v":%d,"d":"value-%d"}`, i, i, i%7)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, fields string
		windows      int64 // windows an event counts in
	}{
		{"count/running", `"threshold":1e15`, 1},
		{"count/group_by/tumbling", `"group_by":["$.g"],"window":{"size":"1h"},"threshold":1e15`, 1},
		{"sum/group_by/hopping", `"aggregate":{"fn":"sum","path":"$.v"},"group_by":["$.g"],"window":{"size":"1h","every":"10m"},"threshold":1e15`, 6},
		{"avg/group_by/tumbling", `"aggregate":{"fn":"avg","path":"$.v"},"group_by":["$.g"],"window":{"size":"1h"},"threshold":1e15`, 1},
		// The distinct values were all seen during the warm-up: a value already in
		// the set allocates nothing either.
		{"count_distinct/group_by/tumbling", `"aggregate":{"fn":"count_distinct","path":"$.d"},"group_by":["$.g"],"window":{"size":"1h"},"threshold":1e15`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := window.New(mustRule(t, tc.fields), window.Limits{})
			// The customer as the consumer hands it over, a view of the fetch, which
			// the state copies only when it keeps it.
			ev := window.Event{Customer: string([]byte("customer-1"))}
			crossings := 0
			cross := func(window.Crossing) { crossings++ }
			base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
			i := 0
			add := func() {
				// 100 ms apart, in order, within the first ten minutes of the hour:
				// every event falls in windows the warm-up opened, none is late.
				ev.Doc, ev.Time = docs[i%groups], base.Add(time.Duration(i)*100*time.Millisecond)
				st.Add(&ev, cross)
				i++
			}
			for range 2 * groups { // opens every group's windows
				add()
			}
			// A run is an event to each group: AllocsPerRun rounds down, so an
			// allocation in some of the events only would read as none per event.
			round := func() {
				for range groups {
					add()
				}
			}
			if allocs := testing.AllocsPerRun(20, round); allocs != 0 {
				t.Errorf("%d events to open (group, window)s allocated %.0f times, want 0", groups, allocs)
			}
			// Every event counted, none late or refused: an Add that returned early
			// would allocate nothing too.
			var counted int64
			for _, w := range openWindows(st, ev.Customer) {
				counted += w.Count
			}
			if want := int64(i) * tc.windows; counted != want || st.Stats() != (window.Stats{}) || crossings != 0 {
				t.Fatalf("%d events counted %d times in all (want %d), stats %+v, %d crossings", i, counted, want, st.Stats(), crossings)
			}
		})
	}
}
