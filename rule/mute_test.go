package rule

import (
	"math"
	"testing"
	"time"
)

// TestMuteUntilRoundsUpWithoutOverflow: a mute's end is now plus its length, rounded
// up to the second; the longest length a duration holds does not wrap into the past.
func TestMuteUntilRoundsUpWithoutOverflow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 500_000_000, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want time.Time
	}{
		{500 * time.Millisecond, time.Date(2026, 12, 4, 12, 0, 1, 0, time.UTC)},
		{2 * time.Hour, time.Date(2026, 12, 4, 14, 0, 1, 0, time.UTC)},
		{math.MaxInt64, now.Add(math.MaxInt64).Add(time.Second - 1).Truncate(time.Second)},
	} {
		if got := MuteUntil(now, tc.d); !got.Equal(tc.want) || !got.After(now) {
			t.Errorf("MuteUntil(%v, %v) = %v, want %v, after now", now, tc.d, got, tc.want)
		}
	}
}
