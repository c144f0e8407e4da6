package kafkarange_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hindsightdev/hindsight/internal/kafkarange"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// Logs lists every partition with what Kafka holds of it: a partition whose head the
// topic's retention deleted starts above 0, an empty one is an empty log.
func TestLogs(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	produce(t, b, 0, 50)
	produce(t, b, 1, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "events", Partition: 1, At: 12})
	del, err := kadm.NewClient(b.Client(t)).DeleteRecords(ctx, offs)
	if err == nil {
		err = del.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := kafkarange.Logs(ctx, kafkarange.Config{Brokers: []string{b.Addr}, Topic: "events"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int32]kafkarange.Log{0: {0, 50}, 1: {12, 20}, 2: {0, 0}}; !maps.Equal(got, want) {
		t.Errorf("Logs = %v, want %v", got, want)
	}
}

func TestLogsUnavailable(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	addr := b.Addr
	b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := kafkarange.Logs(ctx, kafkarange.Config{Brokers: []string{addr}, Topic: "events"}); !errors.Is(err, kafkarange.ErrUnavailable) {
		t.Errorf("Logs from a closed broker: err = %v, want ErrUnavailable", err)
	}
}

// Logs given the id of the topic's log lists it; given the id of a log the topic no
// longer has (deleted and made again), it fails with ErrOtherLog, not ErrUnavailable:
// retrying cannot help.
func TestLogsOfAnotherLog(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	produce(t, b, 0, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics, err := kadm.NewClient(b.Client(t)).ListTopics(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	cfg := kafkarange.Config{Brokers: []string{b.Addr}, Topic: "events", TopicID: topics["events"].ID.String()}
	if got, err := kafkarange.Logs(ctx, cfg); err != nil || got[0] != (kafkarange.Log{Start: 0, End: 5}) {
		t.Fatalf("Logs of the topic's own log: %v, %v", got, err)
	}
	b.RecreateTopic(t, "events", 1)
	_, err = kafkarange.Logs(ctx, cfg)
	if !errors.Is(err, kafkarange.ErrOtherLog) || errors.Is(err, kafkarange.ErrUnavailable) {
		t.Errorf("Logs of a log the topic no longer has: err %v, want ErrOtherLog alone", err)
	}
}
