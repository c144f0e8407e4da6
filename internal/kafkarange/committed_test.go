package kafkarange_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkarange"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// An aborted transaction's records are not delivered (Read reads committed, as live
// does), and a range ending on one ends at the next offset delivered, which is not
// passed on either; while the transaction is open, Logs ends the log before it.
func TestReadLeavesOutAnAbortedTransaction(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	txn := b.TxnClient(t, "aborting", []string{"events"}, kgo.DefaultProduceTopic("events"))
	aborted := []*kgo.Record{{Value: []byte("aborted-0")}, {Value: []byte("aborted-1")}}
	kafkatest.ProduceInTransaction(t, txn, aborted...)
	after := b.Produce(t, &kgo.Record{Topic: "events", Value: []byte("after")})[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := kafkarange.Config{Brokers: []string{b.Addr}, Topic: "events", PollTimeout: 5 * time.Second}
	logs, err := kafkarange.Logs(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if logs[0].End != aborted[0].Offset {
		t.Errorf("Logs with a transaction open from offset %d: %v, want the log to end there", aborted[0].Offset, logs)
	}
	if err := txn.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		to   int64
		want string
	}{
		{"ending on the aborted records", aborted[1].Offset, "[]"},
		{"past them", after.Offset, "[after]"},
	} {
		var got []string
		polls := 0
		cfg := cfg
		cfg.AfterPoll = func() { polls++ }
		err := kafkarange.Read(ctx, cfg, map[int32]kafkarange.Range{0: {From: aborted[0].Offset, To: tc.to}}, func(r *kgo.Record) error {
			got = append(got, string(r.Value))
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("%s: delivered %v, want %s", tc.name, got, tc.want)
		}
		if polls == 0 {
			t.Errorf("%s: AfterPoll never called", tc.name)
		}
	}
}

// A range starting below the log's start (retention deleted it after the caller
// listed the log) fails the read: skipping to the start would count history with a
// hole in it as if whole.
func TestReadFailsBelowTheLogStart(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	produce(t, b, 0, 20)
	b.DeleteRecords(t, "events", 0, 12)
	var got []int64
	cfg := kafkarange.Config{Brokers: []string{b.Addr}, Topic: "events", PollTimeout: 5 * time.Second}
	err := kafkarange.Read(context.Background(), cfg, map[int32]kafkarange.Range{0: {From: 0, To: 19}}, func(r *kgo.Record) error {
		got = append(got, r.Offset)
		return nil
	})
	if !errors.Is(err, kafkarange.ErrUnavailable) || len(got) != 0 {
		t.Errorf("reading 0-19 of a log starting at 12: delivered %v, err %v; want nothing and ErrUnavailable", got, err)
	}
}
