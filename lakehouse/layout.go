package lakehouse

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"time"
)

// hourLayout names the event-time hour directory of a file.
const hourLayout = "2006-01-02T15"

// dataName is data/p=PPPP/h=HOUR/START-END-ID.parquet. The random id makes every
// attempt a new object, so a zombie writer can never overwrite a committed file.
func dataName(partition int32, hour time.Time, start, end int64) string {
	return fmt.Sprintf("%sp=%04d/h=%s/%020d-%020d-%s.parquet", dataPrefix, partition,
		hour.UTC().Format(hourLayout), start, end, randomID(4))
}

var dataNamePattern = regexp.MustCompile(`^data/p=[0-9]{4,}/h=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}/[0-9]{20}-[0-9]{20}-[0-9a-f]+\.parquet$`)

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newWriterID names this process in the manifests it writes.
func newWriterID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomID(3))
}

func hourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// hourMicros is hourOf in Unix microseconds: us rounded down to its hour.
func hourMicros(us int64) int64 {
	const hour = int64(time.Hour / time.Microsecond)
	h := us / hour * hour
	if h > us {
		h -= hour // us before 1970: division rounded it up
	}
	return h
}

// minLakeTime and maxLakeTime bound the event times the lake holds: the years 0000 to
// 9999, those RFC 3339 writes (and window takes as event times), in the columns'
// microseconds. A manifest carries its files' times as RFC 3339 (JSON): a file of a
// later year could not be listed, and a data file's directory names a four-digit year.
var (
	minLakeTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxLakeTime = time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)
)

// lakeTime is t within the years the lake holds (minLakeTime, maxLakeTime), and
// whether t was already.
func lakeTime(t time.Time) (time.Time, bool) {
	switch {
	case t.Before(minLakeTime):
		return minLakeTime, false
	case t.After(maxLakeTime):
		return maxLakeTime, false
	}
	return t, true
}

// The lake's bounds as the columns hold them: Unix seconds and microseconds.
var (
	minLakeSec, maxLakeSec = minLakeTime.Unix(), maxLakeTime.Unix()
	minLakeUs, maxLakeUs   = minLakeTime.UnixMicro(), maxLakeTime.UnixMicro()
)

// lakeMicros is lakeTime's result as the columns hold it, UnixMicro. It takes t
// apart once: lakeTime's two comparisons and UnixMicro each took it apart again, for
// each time of each row the archiver took in.
func lakeMicros(t time.Time) (int64, bool) {
	s, ns := t.Unix(), t.Nanosecond()
	switch {
	case s < minLakeSec:
		return minLakeUs, false
	case s > maxLakeSec || s == maxLakeSec && ns > maxLakeTime.Nanosecond():
		return maxLakeUs, false
	}
	return s*1e6 + int64(ns/1e3), true
}
