package ingest

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// restampedWithin is how near the producing time a dead letter's timestamp must be
// for an INVALID_TIMESTAMP to be taken as the topic's answer to this time (its clock,
// or a bound in the future), not to the event's age: one restamped already is held.
const restampedWithin = time.Minute

// restamped is dead letter dl stamped now, with its own timestamp in HeaderTimestamp,
// when its topic refused it with INVALID_TIMESTAMP for that timestamp: a dead letter
// copies its event's time, and a backlog older than the topic's
// log.message.timestamp.before.max.ms (or a producer's clock far ahead) had its dead
// letter refused for ever — held, it held its partition's offset for good, since the
// time only grows older. false when err is another refusal or dl is stamped near now.
func restamped(dl *kgo.Record, err error, now time.Time) (*kgo.Record, bool) {
	if !errors.Is(err, kerr.InvalidTimestamp) || dl.Timestamp.IsZero() {
		return nil, false
	}
	if d := dl.Timestamp.Sub(now); d > -restampedWithin && d < restampedWithin {
		return nil, false
	}
	again := &kgo.Record{Topic: dl.Topic, Key: dl.Key, Value: dl.Value, Headers: slices.Clone(dl.Headers), Timestamp: now}
	// Our headers start at HeaderReason (cutFurther finds them so); HeaderTimestamp
	// follows HeaderOffset, where DeadLetter puts it for a time the client cannot
	// write (that one says the record's time already, and stays).
	offset := -1
	for i := len(again.Headers) - 1; i >= 0; i-- {
		switch again.Headers[i].Key {
		case HeaderTimestamp:
			return again, true
		case HeaderOffset:
			offset = i
		}
		if offset >= 0 {
			break
		}
	}
	ts := kgo.RecordHeader{Key: HeaderTimestamp, Value: strconv.AppendInt(nil, dl.Timestamp.UnixMilli(), 10)}
	if offset < 0 {
		again.Headers = append(again.Headers, ts)
	} else {
		again.Headers = slices.Insert(again.Headers, offset+1, ts)
	}
	return again, true
}
