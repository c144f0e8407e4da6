package live_test

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// rawRecord is one record to write with a raw timestamp (Unix ms, any int64):
// franz-go's producer takes Timestamp.UnixNano()/1e6, which wraps past year 2262.
type rawRecord struct {
	Key, Value string
	TsMs       int64
}

// produceRaw writes recs to topic's partition as one record batch, with the
// timestamps exactly as given, by a hand-built ProduceRequest.
func produceRaw(t testing.TB, b *kafkatest.Broker, topic string, partition int32, recs ...rawRecord) {
	t.Helper()
	first, max := recs[0].TsMs, recs[0].TsMs
	for _, r := range recs {
		if r.TsMs > max {
			max = r.TsMs
		}
	}
	var body []byte
	for i, r := range recs {
		var rec []byte
		rec = append(rec, 0) // attributes
		rec = binary.AppendVarint(rec, r.TsMs-first)
		rec = binary.AppendVarint(rec, int64(i))
		rec = binary.AppendVarint(rec, int64(len(r.Key)))
		rec = append(rec, r.Key...)
		rec = binary.AppendVarint(rec, int64(len(r.Value)))
		rec = append(rec, r.Value...)
		rec = binary.AppendVarint(rec, 0) // headers
		body = binary.AppendVarint(body, int64(len(rec)))
		body = append(body, rec...)
	}
	batch := kmsg.RecordBatch{
		FirstOffset: 0, Magic: 2, LastOffsetDelta: int32(len(recs) - 1),
		FirstTimestamp: first, MaxTimestamp: max, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(recs)), Records: body,
	}
	raw := batch.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(raw[17:], crc)

	cl := b.Client(t, kgo.MaxVersions(kversion.V3_0_0()))
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = raw
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatalf("raw produce: %v", err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				t.Fatalf("raw produce: partition %d error code %d (%v)", rp.Partition, rp.ErrorCode, rp.ErrorMessage)
			}
		}
	}
}
