package live_test

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// rawTimestamps fetches topic's partition 0 from offset 0 with a hand-built
// FetchRequest and returns each record's timestamp in Unix ms as stored (franz-go's
// consumer reads them through int64 nanoseconds, which wraps).
func rawTimestamps(t testing.TB, b *kafkatest.Broker, topic string) []int64 {
	t.Helper()
	cl := b.Client(t, kgo.MaxVersions(kversion.V3_0_0()))
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = 500
	req.MaxBytes = 1 << 20
	req.ReplicaID = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LogStartOffset = 0, 0, 1<<20, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatalf("raw fetch: %v", err)
	}
	var out []int64
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			raw := rp.RecordBatches
			for len(raw) >= 61 {
				var batch kmsg.RecordBatch
				if err := batch.ReadFrom(raw); err != nil {
					t.Fatalf("raw fetch: batch: %v", err)
				}
				n := int(batch.Length) + 12
				if batch.Attributes&0x7 != 0 {
					t.Fatalf("raw fetch: a compressed batch (attributes %#x)", batch.Attributes)
				}
				recs := batch.Records
				for i := int32(0); i < batch.NumRecords; i++ {
					var rec kmsg.Record
					if err := rec.ReadFrom(recs); err != nil {
						t.Fatalf("raw fetch: record %d: %v", i, err)
					}
					out = append(out, batch.FirstTimestamp+rec.TimestampDelta64)
					l, k := binary.Varint(recs)
					recs = recs[k+int(l):]
				}
				raw = raw[n:]
			}
		}
	}
	return out
}

// TestDeadLetterKeepsTheRecordTimestamp: a record live refuses goes to the
// dead-letter topic "with the same key, value and timestamp" (architecture.md, Dead-
// letter record). A record stamped 2999-06-01 (a valid Kafka timestamp; a bad clock)
// that is not JSON was dead-lettered with the timestamp franz-go read, wrapped through
// int64 nanoseconds to 1830 and written back wrapped again: the dead letter's
// timestamp was not the record's, and replaying the dead letters gave the events
// another time. franz-go's producer cannot write a timestamp past 2262-04-11
// (Timestamp.UnixNano()/1e6): the dead letter is stamped with the last time it can
// write, and carries the record's own, exactly, in hindsight.dlq.timestamp. A record
// of 2200 keeps its timestamp.
func TestDeadLetterKeepsTheRecordTimestamp(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	ts := time.Date(2999, 6, 1, 0, 30, 0, 0, time.UTC).UnixMilli()
	kept := time.Date(2200, 6, 1, 0, 30, 0, 1e6, time.UTC).UnixMilli()
	produceRaw(t, b, "events", 0, rawRecord{Key: "c-1", Value: `not json`, TsMs: ts})
	produceRaw(t, b, "events", 0, rawRecord{Key: "c-2", Value: `not json`, TsMs: kept})
	waitSeen(t, d, 2)
	b.WaitTopicRecords(t, "events.dlq", 2, wait)
	if src := rawTimestamps(t, b, "events"); len(src) != 2 || src[0] != ts || src[1] != kept {
		t.Fatalf("the events topic holds timestamps %v, want [%d %d]", src, ts, kept)
	}
	lastWritable := int64(math.MaxInt64 / 1_000_000) // 2262-04-11T23:47:16.854Z
	got := rawTimestamps(t, b, "events.dlq")
	if len(got) != 2 || got[0] != lastWritable || got[1] != kept {
		var as []string
		for _, ms := range got {
			as = append(as, time.UnixMilli(ms).UTC().Format(time.RFC3339Nano))
		}
		t.Errorf("the dead letters of records stamped %d (%s) and %d are stamped %v %v, want [%d %d]", ts, time.UnixMilli(ts).UTC().Format(time.RFC3339), kept, got, as, lastWritable, kept)
	}
	for i, rec := range b.Consume(t, "events.dlq", 2, wait) {
		var h []string
		for _, x := range rec.Headers {
			if x.Key == ingest.HeaderTimestamp {
				h = append(h, string(x.Value))
			}
		}
		if want := [][]string{{strconv.FormatInt(ts, 10)}, nil}[i]; !slices.Equal(h, want) {
			t.Errorf("dead letter %d: %s headers %q, want %q", i, ingest.HeaderTimestamp, h, want)
		}
	}
}
