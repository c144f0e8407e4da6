package window_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/window"
)

// TestClampedRecordTimeKeepsOneVerdict: the archiver files a record stamped outside the
// years 0000-9999 at the nearest bound (lakehouse.lakeTime), and a history query
// (backfill, backtest, preview) evaluates it at that bound, while live evaluates the
// Kafka timestamp itself. For each window size the rule language takes (whole
// milliseconds, from 1ms), live and history count such a record alike. A record
// stamped before year 0000 under a rule with a 1ms window counted in history and not
// live, until windows starting at 0000-01-01T00:00:00Z itself were refused.
func TestClampedRecordTimeKeepsOneVerdict(t *testing.T) {
	lakeMin := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	lakeMax := time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)
	cases := []struct{ kafka, lake time.Time }{
		{time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC), lakeMin},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), lakeMax},
	}
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(`{"type":"x"}`)); err != nil {
		t.Fatal(err)
	}
	for _, size := range []string{"1ms", "2ms", "1s", "1h"} {
		for _, c := range cases {
			count := func(at time.Time) (fired int, timeErrors uint64) {
				st := window.New(mustRule(t, `"window":{"size":"`+size+`"},"threshold":1`), window.Limits{})
				st.Add(&window.Event{Customer: "c1", Doc: doc, Time: at}, func(window.Crossing) { fired++ })
				return fired, st.Stats().TimeErrors
			}
			lf, lte := count(c.kafka)
			hf, hte := count(c.lake)
			if lf != hf || lte != hte {
				t.Errorf("window %s, record stamped %v: live fires %d (time errors %d), history (at the lake's bound %v) fires %d (time errors %d)",
					size, c.kafka, lf, lte, c.lake, hf, hte)
			}
		}
	}
}
