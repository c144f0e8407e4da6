// Package kafkatime reads and writes a Kafka record's timestamp exactly.
//
// A Kafka timestamp is an int64 of Unix milliseconds: any year a producer's clock
// says. franz-go converts it through int64 nanoseconds (its consumer:
// time.Unix(0, ms*1e6); its producer: Timestamp.UnixNano()/1e6), which wraps for a
// time outside about 1677-09-21 to 2262-04-11: a record stamped 2999-06-01T00:30:00Z
// is read as 1830-04-23T01:20:52.58Z. Every reader of a record's timestamp takes it
// through Of, so that live, the lake, backfill and backtests see the time the record
// holds; Writable says whether franz-go's producer can write a time back.
package kafkatime

import (
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	// inv15625 is the inverse of 15625 modulo 2^64 (and so modulo 2^58): 1e6 =
	// 2^6·15625, and 15625 is odd.
	inv15625 = 0x790f_b656_68c2_6139 // 15625·inv15625 = 1 mod 2^64, checked in the tests
	// maxWritableMs is the largest |ms| whose nanoseconds fit an int64.
	maxWritableMs = math.MaxInt64 / 1_000_000
)

// Of is r's timestamp as the record holds it, r having been read by franz-go's
// consumer. A record timestamp is exact for |ms| < 2^57 (about 4.5 million years
// either side of 1970), far beyond every year RFC 3339 writes.
func Of(r *kgo.Record) time.Time { return Recover(r.Timestamp) }

// Recover undoes franz-go's consumer's conversion, time.Unix(0, ms*1e6), which
// wraps: t is such a time (for an in-range ms, the time itself, returned as is).
// A time franz-go's consumer cannot have made (outside the int64 nanosecond range,
// e.g. the zero Time, or not a multiple of 64 ns) is returned as is.
func Recover(t time.Time) time.Time {
	ns := t.UnixNano()
	if ns%1e6 == 0 || ns&63 != 0 || !time.Unix(0, ns).Equal(t) {
		return t
	}
	return time.UnixMilli(Millis(ns))
}

// Millis is the Unix millisecond timestamp whose nanoseconds, wrapped to an int64,
// are ns: the one in [-2^57, 2^57) (ms·1e6 ≡ ns mod 2^64 fixes ms modulo 2^58).
func Millis(ns int64) int64 {
	if ns%1e6 == 0 {
		return ns / 1e6
	}
	m := (uint64(ns) >> 6) * inv15625 // ms modulo 2^58, in the low 58 bits
	return int64(m<<6) >> 6           // sign-extended from bit 57
}

// Writable reports whether franz-go's producer writes t as its own milliseconds
// (floored), and if so the time to give it, the same instant: a time within the int64
// nanosecond range, about 1677-09-21 to 2262-04-11. Outside it the producer would
// write a wrapped, wrong timestamp.
func Writable(t time.Time) (time.Time, bool) {
	ms := t.UnixMilli() // floored: a Time's nanoseconds within its second are never negative
	if ms > maxWritableMs || ms < -maxWritableMs {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// NearestWritable is the time nearest t that franz-go's producer writes exactly (see
// Writable): t's own millisecond where Writable says so, else the first or the last
// millisecond of the int64 nanosecond range.
func NearestWritable(t time.Time) time.Time {
	if w, ok := Writable(t); ok {
		return w
	}
	if t.Before(time.Unix(0, 0)) {
		return time.UnixMilli(-maxWritableMs)
	}
	return time.UnixMilli(maxWritableMs)
}
