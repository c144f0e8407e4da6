package ingest

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRestampedReplayedDeadLetterKeepsItsOwnTime: an event replayed from the
// dead-letter topic carries the headers of its first dead letter, restamped then
// (hindsight.dlq.timestamp among them). Dead-lettered again from an old backlog and
// refused for its time, its new dead letter is stamped now with its own time in a
// hindsight.dlq.timestamp of its own, after its own hindsight.dlq.offset: the old one,
// among the event's headers, says the first dead letter's time. Found by a mutation
// hunt: restamped searching past its own headers (dropping the stop at HeaderOffset)
// passed every test, though it took the old header for its own and sent the dead
// letter on with its event's time lost.
func TestRestampedReplayedDeadLetterKeepsItsOwnTime(t *testing.T) {
	now := time.Now()
	first := now.Add(-30 * 24 * time.Hour).Truncate(time.Millisecond)
	second := now.Add(-20 * 24 * time.Hour).Truncate(time.Millisecond)
	replayed := &kgo.Record{Topic: "events", Partition: 2, Offset: 41, Key: []byte("c"), Value: []byte(`{`), Timestamp: second,
		Headers: []kgo.RecordHeader{
			{Key: HeaderReason, Value: []byte("malformed")},
			{Key: HeaderOffset, Value: []byte("7")},
			{Key: HeaderTimestamp, Value: strconv.AppendInt(nil, first.UnixMilli(), 10)},
		}}
	dl := DeadLetter(replayed, "events.dlq", "malformed", errors.New("unexpected end of JSON input"))

	again, ok := restamped(dl, kerr.InvalidTimestamp, now)
	if !ok {
		t.Fatalf("restamped the dead letter of an event 20 days old refused with INVALID_TIMESTAMP: false; want it stamped now")
	}
	if !again.Timestamp.Equal(now) {
		t.Errorf("the restamped dead letter's timestamp %v; want now, %v", again.Timestamp, now)
	}
	var keys []string
	var ts []string
	for _, h := range again.Headers {
		keys = append(keys, h.Key)
		if h.Key == HeaderTimestamp {
			ts = append(ts, string(h.Value))
		}
	}
	n := len(again.Headers)
	if n != len(dl.Headers)+1 || again.Headers[n-2].Key != HeaderOffset || again.Headers[n-1].Key != HeaderTimestamp {
		t.Fatalf("the restamped dead letter's headers %q; want the dead letter's %d and a %s after its own %s", keys, len(dl.Headers), HeaderTimestamp, HeaderOffset)
	}
	want := []string{strconv.FormatInt(first.UnixMilli(), 10), strconv.FormatInt(second.UnixMilli(), 10)}
	if len(ts) != 2 || ts[0] != want[0] || ts[1] != want[1] {
		t.Errorf("the restamped dead letter's %s headers %q; want %q: the first dead letter's time, then the event's", HeaderTimestamp, ts, want)
	}
}

// TestRestampedUnwritableTimeKeepsItsOneHeader: the dead letter of a record whose time
// the client cannot write carries that time in HeaderTimestamp already (DeadLetter),
// stamped with the nearest time it can write, which the topic refuses as too old.
// Restamped now, it keeps that one header, the record's time: it does not gain a
// second one saying the stand-in time.
func TestRestampedUnwritableTimeKeepsItsOneHeader(t *testing.T) {
	now := time.Now()
	ancient := time.Date(1600, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := &kgo.Record{Topic: "events", Partition: 0, Offset: 3, Value: []byte(`{}`), Timestamp: ancient}
	dl := DeadLetter(rec, "events.dlq", ReasonMissingKey, errors.New("no key"))
	if n := len(dl.Headers); n == 0 || dl.Headers[n-1].Key != HeaderTimestamp {
		t.Fatalf("the dead letter of a record of 1600 has headers %v; want a last %s", dl.Headers, HeaderTimestamp)
	}
	again, ok := restamped(dl, kerr.InvalidTimestamp, now)
	if !ok {
		t.Fatal("restamped the dead letter stamped in 1677 refused with INVALID_TIMESTAMP: false; want it stamped now")
	}
	var ts []string
	for _, h := range again.Headers {
		if h.Key == HeaderTimestamp {
			ts = append(ts, string(h.Value))
		}
	}
	if want := strconv.FormatInt(ancient.UnixMilli(), 10); len(ts) != 1 || ts[0] != want {
		t.Errorf("the restamped dead letter's %s headers %q; want one, %q", HeaderTimestamp, ts, want)
	}
	if !again.Timestamp.Equal(now) || len(again.Headers) != len(dl.Headers) {
		t.Errorf("restamped: timestamp %v, %d headers; want now (%v) and the dead letter's %d", again.Timestamp, len(again.Headers), now, len(dl.Headers))
	}
}
