package window_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/window"
)

// TestWindowEndingAtTheLastWritableMillisecondCounts pins the inclusive upper end of
// the years contract: a window must end "by 9999-12-31T23:59:59.999Z", and a window
// ending exactly there is writable (its alert's end is that very text). An event at
// .998 of a 1ms window falls in [.998, .999) alone: it counts and alerts, with that
// end; the event at .999, whose window would end in year 10000, is a time error.
func TestWindowEndingAtTheLastWritableMillisecondCounts(t *testing.T) {
	last := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	r := mustRule(t, `"window":{"size":"1ms"},"time":"$.t","threshold":1`)
	st := window.New(r, window.Limits{})
	d := jsonpath.NewDocument()
	var got []window.Crossing
	for _, at := range []string{"9999-12-31T23:59:59.998Z", "9999-12-31T23:59:59.999Z"} {
		if err := d.Reset([]byte(`{"t":"` + at + `"}`)); err != nil {
			t.Fatal(err)
		}
		st.Add(&window.Event{Customer: "c", Doc: d, Time: time.UnixMilli(0)}, func(c window.Crossing) { got = append(got, c) })
	}
	if n := st.Stats().TimeErrors; n != 1 {
		t.Errorf("time errors: %d, want 1 (the event at .999 only)", n)
	}
	if len(got) != 1 || got[0].Start != last-1 || got[0].End != last || got[0].Count != 1 {
		t.Fatalf("crossings: %+v, want one of [%d, %d) with count 1", got, last-1, last)
	}
}
