package bench

import (
	"testing"
	"time"
)

func TestBackfillKeepsTheFastestPass(t *testing.T) {
	t.Parallel()
	type pass struct{ wall, cpu time.Duration }
	for _, tc := range []struct {
		name   string
		passes []pass
		want   pass
	}{
		{"one", []pass{{3 * time.Second, 2 * time.Second}}, pass{3 * time.Second, 2 * time.Second}},
		{"the second faster", []pass{{3 * time.Second, 2 * time.Second}, {time.Second, 5 * time.Second}}, pass{time.Second, 5 * time.Second}},
		{"the first faster", []pass{{time.Second, time.Second}, {2 * time.Second, time.Millisecond}}, pass{time.Second, time.Second}},
		{"a tie keeps the first", []pass{{time.Second, time.Second}, {time.Second, 2 * time.Second}}, pass{time.Second, time.Second}},
		{"slowest in the middle", []pass{{2 * time.Second, 1}, {5 * time.Second, 2}, {time.Second, 3}}, pass{time.Second, 3}},
	} {
		var got pass
		for i, p := range tc.passes {
			got.wall, got.cpu = faster(i == 0, got.wall, got.cpu, p.wall, p.cpu)
		}
		if got != tc.want {
			t.Errorf("%s: kept %+v, want %+v (the fastest pass's wall and CPU time)", tc.name, got, tc.want)
		}
	}
}
