package window_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/window"
)

// TestEventWhoseWindowsFitTheYearsCounts holds the evaluator to the contract at the
// ends of the years an alert can write: "a windowed rule's windows must start and end
// within them too, starting after 0000-01-01T00:00:00Z". The oracle computes, from
// the epoch-aligned windows [k·every, k·every+size) containing the event's time,
// whether every one of them starts after 0000-01-01T00:00:00Z and ends by
// 9999-12-31T23:59:59.999Z; such an event counts, any other is a time error.
// Windows of a size that does not divide the days since the epoch of year 0000 (a
// week, 365 days) are not aligned on 0000-01-01 or 10000-01-01: an event may then
// fall only in windows well within the years and still be refused, while another
// event of the same window counts.
func TestEventWhoseWindowsFitTheYearsCounts(t *testing.T) {
	minMs := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxMs := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	fits := func(size, every, at int64) (bool, []int64) {
		var starts []int64
		for k := floorDiv(at, every); k*every+size > at; k-- {
			starts = append(starts, k*every)
			if k*every <= minMs || k*every+size > maxMs {
				return false, nil
			}
		}
		return true, starts
	}
	for _, tc := range []struct {
		window string
		size   time.Duration
		every  time.Duration
		at     string
	}{
		{`{"size":"7d"}`, 7 * 24 * time.Hour, 7 * 24 * time.Hour, "0000-01-06T00:00:00Z"},
		{`{"size":"7d"}`, 7 * 24 * time.Hour, 7 * 24 * time.Hour, "0000-01-09T12:00:00Z"}, // same window as the one above
		{`{"size":"365d"}`, 365 * 24 * time.Hour, 365 * 24 * time.Hour, "9998-10-01T00:00:00Z"},
		{`{"size":"365d"}`, 365 * 24 * time.Hour, 365 * 24 * time.Hour, "9999-06-01T00:00:00Z"}, // same window as the one above
		{`{"size":"1d"}`, 24 * time.Hour, 24 * time.Hour, "9999-12-31T12:00:00Z"},
		{`{"size":"1d"}`, 24 * time.Hour, 24 * time.Hour, "0000-01-01T12:00:00Z"},
	} {
		t.Run(tc.window+" "+tc.at, func(t *testing.T) {
			at := ms(tc.at)
			want, starts := fits(tc.size.Milliseconds(), tc.every.Milliseconds(), at)
			r := mustRule(t, `"window":`+tc.window+`,"time":"$.t","threshold":1e9`)
			st := window.New(r, window.Limits{})
			d := jsonpath.NewDocument()
			if err := d.Reset(fmt.Appendf(nil, `{"t":%q}`, tc.at)); err != nil {
				t.Fatal(err)
			}
			st.Add(&window.Event{Customer: "c", Doc: d, Time: time.UnixMilli(0)}, func(window.Crossing) {})
			got := st.Stats().TimeErrors == 0
			if got != want {
				var ws []string
				for _, s := range starts {
					ws = append(ws, fmt.Sprintf("[%s, %s)", time.UnixMilli(s).UTC().Format(time.RFC3339), time.UnixMilli(s+tc.size.Milliseconds()).UTC().Format(time.RFC3339)))
				}
				t.Errorf("event at %s under window %s: counted %v (stats %+v), want %v: its windows %v start after 0000-01-01 and end by 9999-12-31",
					tc.at, tc.window, got, st.Stats(), want, ws)
			}
		})
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
