package live_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// A record's Kafka timestamp is int64 Unix ms; years 0000 to 9999 are times the rules
// take (window/doc.go: "without a time path, the record timestamp ... from year 0000 to
// 9999"). franz-go's consumer reads a record timestamp as time.Unix(0, ms*1e6), which
// wraps for any time outside 1677-09-21..2262-04-11: a record of year 2999 is read as
// a time in the 19th century (with a nanosecond fraction no Kafka timestamp has), and
// counted there. A silent wrong answer: the window, the watermark and the alert's
// event_time are all wrong.

// TestRecordTimeYear2999WindowedByRecordTime: a windowed rule without a time path
// windows by record time; an event whose record time is 2999-06-01T00:30Z must count in
// the window [00:00, 01:00) of that day (or, if the daemon cannot read it, not count
// and say so): never in a window of another century.
func TestRecordTimeYear2999WindowedByRecordTime(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	r := livetest.ParseRule(t, `{"id":"hourly","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},
		"window":{"size":"1h","every":"1h"},"threshold":{"op":">=","value":1}}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)

	ts := time.Date(2999, 6, 1, 0, 30, 0, 0, time.UTC)
	produceRaw(t, b, "events", 0, rawRecord{Key: "c-1", Value: `{"type":"x"}`, TsMs: ts.UnixMilli()})
	waitSeen(t, d, 1)

	alerts := livetest.Alerts(t, b.Consume(t, "alerts", 1, wait))
	a := alerts[0]
	if a.WindowStart == nil || !a.WindowStart.Equal(ts.Truncate(time.Hour)) || !a.EventTime.Equal(ts) {
		t.Errorf("an event of record time %s alerted with event_time %s, window_start %v: the record time was read wrapped (franz-go's time.Unix(0, ms*1e6)) and counted in another century",
			ts.Format(time.RFC3339Nano), a.EventTime.Format(time.RFC3339Nano), a.WindowStart)
	}
}

// TestPlainAlertEventTimeIsTheRecordTime: a plain count's alert carries the crossing
// event's record time as event_time. Record time 0001-01-01 (far past) and 2500-01-01.
func TestPlainAlertEventTimeIsTheRecordTime(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	r := livetest.ParseRule(t, `{"id":"one","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},"threshold":1}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)

	times := []time.Time{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i, ts := range times {
		produceRaw(t, b, "events", 0, rawRecord{Key: []string{"c-1", "c-2"}[i], Value: `{"type":"x"}`, TsMs: ts.UnixMilli()})
	}
	waitSeen(t, d, 2)
	alerts := livetest.Alerts(t, b.Consume(t, "alerts", 2, wait))
	for i, a := range alerts {
		if !a.EventTime.Equal(times[i]) {
			t.Errorf("alert of customer %s: event_time %s, want the record time %s", a.Customer, a.EventTime.Format(time.RFC3339Nano), times[i].Format(time.RFC3339Nano))
		}
	}
}
