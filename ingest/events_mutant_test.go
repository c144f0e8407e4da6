package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestResumeAtZeroOverridesTheCommit: a Positioner's resume point of offset 0 (a
// restored state that had read nothing of the partition) is a position like any other:
// the partition is read from 0 although the group committed 30. Were 0 taken for "no
// resume point", the consumer went on from the commit and the events below it never
// reached the state that needs them. The tap hears the position too.
func TestResumeAtZeroOverridesTheCommit(t *testing.T) {
	t.Parallel()
	const records = 40
	brokers := seededCluster(t, 1, 4, records/4, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var commit kadm.Offsets
	commit.Add(kadm.Offset{Topic: "events", Partition: 0, At: 30, LeaderEpoch: -1})
	if resp, err := kadm.NewClient(cl).CommitOffsets(context.Background(), "g", commit); err != nil || resp.Error() != nil {
		t.Fatalf("committing offset 30 for the group: %v, %v", err, resp.Error())
	}
	tap := newRecordingTap()
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		Tap: tap}, resumeAtHandler{at: map[int32]int64{0: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := runUntil(ec, func() bool {
		tap.mu.Lock()
		defer tap.mu.Unlock()
		offs := tap.offsets[0]
		return len(offs) > 0 && offs[len(offs)-1] == records-1
	}); err != nil {
		t.Fatal(err)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if offs := tap.offsets[0]; len(offs) != records || offs[0] != 0 || tap.resumed[0] != 0 {
		t.Errorf("resumed at 0 over a commit at 30: the tap heard resume at %d and %d records from %v; want resume at 0 and %d records from 0",
			tap.resumed[0], len(offs), offs[:min(1, len(offs))], records)
	}
}

// TestDeliveredOfAPartitionNothingWasReadOf: a partition owned, with no commit, no
// resume point and no record yet (an empty topic), has had nothing delivered: Delivered
// answers -1, owned, the daemon's "nothing produced here to wait for", and does not
// look for a batch in hand that is not there.
func TestDeliveredOfAPartitionNothingWasReadOf(t *testing.T) {
	t.Parallel()
	brokers := seededCluster(t, 1, 0, 0, nil)
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g"}, nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	defer stop()
	poll.Until(t, 30*time.Second, "partition 0 owned", func() bool {
		_, owned := ec.Delivered(0)
		return owned
	})
	if off, owned := ec.Delivered(0); off != -1 || !owned {
		t.Errorf("Delivered(0) = %d, owned %v, with nothing read; want -1, true", off, owned)
	}
}
