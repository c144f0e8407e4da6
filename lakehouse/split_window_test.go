package lakehouse

import (
	"testing"
	"time"
)

// TestHourSplitsCountPerWindow: at most max splits a window, counted again from zero
// once the window has passed since the first of them. A count never started over
// refused every split after the first max for good.
func TestHourSplitsCountPerWindow(t *testing.T) {
	var st partState
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {time.Minute, true}, {2 * time.Minute, false},
		{59 * time.Minute, false}, // still the first window
		{time.Hour, true}, {time.Hour + time.Minute, true}, {time.Hour + 2*time.Minute, false},
	}
	var got []bool
	for _, s := range steps {
		got = append(got, st.splitForHour(start.Add(s.at), 2, time.Hour))
	}
	for i, s := range steps {
		if got[i] != s.want {
			t.Fatalf("splits allowed at %v: %v; want %v at %v", got, got[i], s.want, s.at)
		}
	}
	if got := (&partState{}).splitForHour(start, -1, time.Hour); !got {
		t.Error("a negative max refused a split; want every split allowed")
	}
}
