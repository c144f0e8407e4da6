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
// hunt measured 5 us an event with few open, 132 us with 100,000), and closing the
// oldest moved every other cell down, and each event counted the run's cells in use
// by scanning back over the unused ones (2.9 us an event with up to 20,000 open, 162 us
// with 90,000 to 100,000).
//
// The steady cases start with 100,000 windows open, the most the rule keeps: each
// event then closes the oldest and opens one, and the group stays at 100,000 (checked).
func BenchmarkAddManyOpenWindows(b *testing.B) {
	const rules = `"window":{"size":"1s"},"lateness":"99999s","threshold":1e9`
	distinct := mustRule(b, `"aggregate":{"fn":"count_distinct","path":"$.v"},`+rules)
	sum := mustRule(b, `"aggregate":{"fn":"sum","path":"$.v"},`+rules)
	for _, c := range []struct {
		name   string
		open   int
		steady bool
	}{
		{"open=0", 0, false},
		{"open=90000", 90_000, false},
		{"steady/open=100000", 100_000, true},
		{"steady/sum/open=100000", 100_000, true},
	} {
		r := distinct
		if c.name == "steady/sum/open=100000" {
			r = sum
		}
		b.Run(c.name, func(b *testing.B) {
			s := window.New(r, window.Limits{MaxGroups: 1, MaxDistinct: 10})
			f := newFeeder()
			at := int64(1_700_000_000_000)
			for i := range c.open {
				f.add(b, s, in{"c1", fmt.Sprintf(`{"v":%d}`, i%7), at})
				at += 1000
			}
			if c.steady && s.WindowCount() != c.open {
				b.Fatalf("%d windows open, want %d", s.WindowCount(), c.open)
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
			b.StopTimer()
			if c.steady && s.WindowCount() != c.open {
				b.Fatalf("%d windows open after, want %d", s.WindowCount(), c.open)
			}
			b.ReportMetric(float64(s.WindowCount()), "windows")
		})
	}
}
