package kafkatime

import (
	"testing"
	"time"
)

// wrapped is franz-go's consumer's conversion (kgo's timeFromMillis).
func wrapped(ms int64) time.Time { return time.Unix(0, ms*1e6) }

func TestInverse(t *testing.T) {
	a, inv := uint64(15625), uint64(inv15625)
	if a*inv != 1 {
		t.Fatalf("15625·%#x = %#x mod 2^64, want 1", inv, a*inv)
	}
}

// TestRecoverTheRecordTime: every millisecond timestamp of the years 0000 to 9999 and
// far beyond reads back exactly from the time franz-go's consumer makes of it.
func TestRecoverTheRecordTime(t *testing.T) {
	times := []int64{
		0, 1, -1, 999, -999, maxWritableMs, -maxWritableMs, maxWritableMs + 1, -maxWritableMs - 1,
		time.Date(2999, 6, 1, 0, 30, 0, 0, time.UTC).UnixMilli(),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli(),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		time.Date(1600, 1, 1, 0, 0, 0, 1e6, time.UTC).UnixMilli(),
		1<<57 - 1, -1 << 57,
	}
	for ms := int64(-1e6); ms < 1e6; ms += 997 {
		times = append(times, ms*123456789+ms) // spread over ±3.9 million years
	}
	for _, ms := range times {
		got := Recover(wrapped(ms))
		if got.UnixMilli() != ms || got.Nanosecond()%1e6 != 0 {
			t.Errorf("ms %d (read as %s): recovered %s (%d ms)", ms, wrapped(ms).UTC().Format(time.RFC3339Nano), got.UTC().Format(time.RFC3339Nano), got.UnixMilli())
		}
	}
	if got := Recover(wrapped(1 << 57)).UnixMilli(); got != -1<<57 {
		t.Errorf("2^57 ms: %d, want its alias -2^57 (the range is [-2^57, 2^57))", got)
	}
}

// TestRecoverLeavesOtherTimes: a time franz-go's consumer cannot have made is its own.
func TestRecoverLeavesOtherTimes(t *testing.T) {
	for _, at := range []time.Time{{}, time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC),
		// Outside the int64 nanosecond range, its wrapped nanoseconds a multiple of 64 ns
		// and not of a millisecond: only the range check tells it from a wrapped read.
		time.Date(3000, 1, 1, 0, 0, 0, 64, time.UTC)} {
		if got := Recover(at); !got.Equal(at) {
			t.Errorf("%s: recovered %s", at.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano))
		}
	}
}

// TestWritable: what franz-go's producer writes (Timestamp.UnixNano()/1e6) is the
// time's millisecond, floored, where Writable says so; nowhere else could it be.
func TestWritable(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), time.Date(1960, 1, 2, 3, 4, 5, 123456789, time.UTC),
		time.UnixMilli(maxWritableMs), time.UnixMilli(-maxWritableMs),
	} {
		w, ok := Writable(at)
		ns := at.UnixNano() // within the int64 range for these times
		want := ns / 1e6    // towards zero: floored below
		if ns%1e6 < 0 {
			want--
		}
		if !ok || w.UnixNano()/1e6 != want {
			t.Errorf("%s: writable %v, written as %d ms, want %d", at.Format(time.RFC3339Nano), ok, w.UnixNano()/1e6, want)
		}
	}
	for _, at := range []time.Time{time.UnixMilli(maxWritableMs + 1), time.UnixMilli(-maxWritableMs - 1), time.Date(2999, 6, 1, 0, 30, 0, 0, time.UTC), {}} {
		if _, ok := Writable(at); ok {
			t.Errorf("%s: writable", at.Format(time.RFC3339Nano))
		}
	}
}

// TestNearestWritable: a writable time is its own millisecond; one past either end of
// the int64 nanosecond range is that end (ingest writes a dead letter's timestamp so).
func TestNearestWritable(t *testing.T) {
	for _, tc := range []struct{ at, want time.Time }{
		{time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC)},
		{time.Date(2999, 6, 1, 0, 30, 0, 0, time.UTC), time.UnixMilli(maxWritableMs)},
		{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), time.UnixMilli(-maxWritableMs)},
		{time.Time{}, time.UnixMilli(-maxWritableMs)},
	} {
		if got := NearestWritable(tc.at); !got.Equal(tc.want) {
			t.Errorf("NearestWritable(%s) = %s, want %s", tc.at.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano), tc.want.Format(time.RFC3339Nano))
		}
	}
}
