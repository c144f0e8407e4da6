package window_test

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/window"
)

// BenchmarkAddManyOpenWindows: one group holding many open windows, at
// max_rule_open_windows (a day's lateness at windows of a second), each event a second
// after the last. An event's cost must not grow with the windows its group keeps open:
// State.open scanned the group's cells from the first on every event (a resource
// hunt measured 5 us an event with few open, 132 us with 100,000).
func BenchmarkAddManyOpenWindows(b *testing.B) {
	r := mustRule(b, `"aggregate":{"fn":"count_distinct","path":"$.v"},"window":{"size":"1s"},"lateness":"99999s","threshold":1e9`)
	for _, open := range []int{0, 90_000} {
		b.Run(fmt.Sprintf("open=%d", open), func(b *testing.B) {
			s := window.New(r, window.Limits{MaxGroups: 1, MaxDistinct: 10})
			f := newFeeder()
			at := int64(1_700_000_000_000)
			for i := range open {
				f.add(b, s, in{"c1", fmt.Sprintf(`{"v":%d}`, i%7), at})
				at += 1000
			}
			docs := make([]string, 7)
			for i := range docs {
				docs[i] = fmt.Sprintf(`{"v":%d}`, i)
			}
			b.ResetTimer()
			for i := range b.N {
				f.add(b, s, in{"c1", docs[i%7], at})
				at += 1000
			}
			b.ReportMetric(float64(s.WindowCount()), "windows")
		})
	}
}
