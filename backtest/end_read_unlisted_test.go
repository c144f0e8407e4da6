package backtest_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestPartitionStateEndReadUnlistedWhileTheLakeHoldsItAll: the lake archived offsets
// 0-19 of partition 0, all of its history below 20, which its caller read up to
// (Config.EndRead). Kafka not listing the partition (its end-offset listing answered
// without it) leaves nothing the replay needs unknown: no tail above the lake, no head
// below its first offset. The replay is the lake's 20 events, as with the partition
// listed, not ErrTailUnavailable retried until Kafka lists it.
func TestPartitionStateEndReadUnlistedWhileTheLakeHoldsItAll(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	now := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := range 20 {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"login.failed"}`), Timestamp: now.Add(time.Duration(i) * time.Millisecond)})
	}
	b.Produce(t, recs...)
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	archiveTo(t, b, bkt, lake, 19)
	r, err := rule.ParseRule([]byte(`{"id":"any","scope":"*","threshold":1000,"when":{"path":"$.type"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var hidden atomic.Bool
	hidden.Store(true)
	listEndsWithout(b, "events", hidden.Load)
	cfg := backtest.Config{Lake: lake, Brokers: []string{b.Addr}, EndRead: true}
	h, err := backtest.PartitionState(context.Background(), cfg, r, 0, 20, func(int64, time.Time, window.Crossing) {})
	if err != nil || h.Matches != 20 || len(h.Missing) != 0 || h.HeldFrom != 0 {
		t.Errorf("read up to 20, the lake holding 0-19, Kafka not listing the partition: %v, %+v; want 20 matches, none missing, held from 0", err, h)
	}
}

// TestPartitionStateEndReadUnlistedBelowTheLakesStart: the lake's retention dropped
// offsets 0-9 (its first offset is 10) while Kafka holds all 20. A replay below 20
// read up to there needs from Kafka the head below 10: with the partition not listed,
// whether Kafka holds it is unknown, and the replay is ErrTailUnavailable, not the
// lake's 10 events with history said to start at 10. Once listed, all 20.
func TestPartitionStateEndReadUnlistedBelowTheLakesStart(t *testing.T) {
	t.Parallel()
	endReadBehindTheLake(t, "Kafka not listing the partition", func(b *kafkatest.Broker, hidden func() bool) { listEndsWithout(b, "events", hidden) })
}

// listEndsWithout answers b's end-offset listings of topic (ListOffsets at timestamp
// -1) with the topic and none of its partitions while hidden returns true, as a
// broker whose metadata lacks them would: kadm's listing then holds no entry for any.
// Other listings, and all once hidden returns false, are the broker's own.
func listEndsWithout(b *kafkatest.Broker, topic string, hidden func() bool) {
	c := b.Cluster
	c.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		lr := req.(*kmsg.ListOffsetsRequest)
		if len(lr.Topics) == 0 || !hidden() {
			return nil, nil, false
		}
		for _, rt := range lr.Topics {
			if rt.Topic != topic || slices.ContainsFunc(rt.Partitions, func(rp kmsg.ListOffsetsRequestTopicPartition) bool { return rp.Timestamp != -1 }) {
				return nil, nil, false
			}
		}
		resp := lr.ResponseKind().(*kmsg.ListOffsetsResponse)
		for _, rt := range lr.Topics {
			st := kmsg.NewListOffsetsResponseTopic()
			st.Topic = rt.Topic
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
}
