package lakehouse

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestLakeMicrosAgreesWithLakeTime: lakeMicros is lakeTime(t) in microseconds, with
// the same verdict, at the bounds' edges and far past them (where UnixMicro itself
// overflows), and hourMicros is hourOf in microseconds, before 1970 too.
func TestLakeMicrosAgreesWithLakeTime(t *testing.T) {
	t.Parallel()
	times := []time.Time{
		{}, time.Now(), time.Unix(0, 0), time.Unix(-1, 999_999_999), time.Unix(0, -1),
		minLakeTime, minLakeTime.Add(-time.Nanosecond), minLakeTime.Add(time.Nanosecond), minLakeTime.Add(-time.Hour),
		maxLakeTime, maxLakeTime.Add(time.Nanosecond), maxLakeTime.Add(-time.Nanosecond), maxLakeTime.Add(time.Microsecond),
		time.Date(-5000, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(300_000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 7, 23, 59, 59, 999_999_999, time.FixedZone("x", -7*3600)),
	}
	rng := rand.New(rand.NewPCG(2, 3))
	for range 10_000 {
		times = append(times, time.Unix(minLakeSec-1000+rng.Int64N(maxLakeSec-minLakeSec+2000), rng.Int64N(1e9)))
	}
	for _, tm := range times {
		want, wantIn := lakeTime(tm)
		got, gotIn := lakeMicros(tm)
		if got != want.UnixMicro() || gotIn != wantIn {
			t.Errorf("lakeMicros(%v) = %d, %v; lakeTime: %d, %v", tm, got, gotIn, want.UnixMicro(), wantIn)
		}
		if h := time.UnixMicro(hourMicros(got)).UTC(); !h.Equal(hourOf(want)) {
			t.Errorf("hourMicros(%d) = %v, hourOf(%v) = %v", got, h, want, hourOf(want))
		}
	}
}
