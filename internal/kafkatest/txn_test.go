package kafkatest_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TxnClient learns its topics without writing to them, and its first transaction
// commits: read committed, the topic holds the record and its commit marker.
func TestTxnClientLearnsTopicsWithoutWriting(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	txn := b.TxnClient(t, "learner", []string{"events", "alerts"})
	for _, topic := range []string{"events", "alerts"} {
		if n := b.TopicRecords(t, topic); n != 0 {
			t.Fatalf("learning the topics left %d offsets in %s, want none", n, topic)
		}
	}
	kafkatest.Transact(t, txn, kgo.TryCommit, &kgo.Record{Topic: "events", Value: []byte(`{"n":1}`)})
	if n := b.TopicRecords(t, "events"); n != 2 {
		t.Fatalf("after a committed transaction of one record, events ends at %d, want 2 (the record, its marker)", n)
	}
	cl := b.Client(t, kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	for len(got) == 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if len(got) != 1 || got[0] != `{"n":1}` {
		t.Fatalf("read committed: %q, want the one record committed", got)
	}
}
