package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestPartitionAddedWhileRunningStartAtLatest: --start-at latest is where a new group
// starts: what its partitions held before is not counted. A partition added to the events topic of a group that has committed offsets
// is counted from its start: the events producers wrote to it before the daemon noticed
// it were skipped, silently.
func TestPartitionAddedWhileRunningStartAtLatest(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"all","scope":"*","version":1,"when":{"path":"$.type"},"threshold":1000000}`)
	b.Produce(t, livetest.Upsert(t, r))
	old := b.Produce(t, livetest.Event("c-0", `{"type":"x"}`), livetest.Event("c-0", `{"type":"x"}`))
	if old[1].Partition != 0 {
		t.Fatalf("events went to partition %d", old[1].Partition)
	}
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.StartAt = "latest"
		c.SnapshotInterval = 200 * time.Millisecond
	})
	produce := func(p int32, key, value string) {
		t.Helper()
		cl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner())) // fresh metadata
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Partition: p, Key: []byte(key), Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// Positioned at the log's end (2) before the next event: one produced before the
	// end is looked up would be skipped, as latest says.
	poll.Until(t, wait, "partition 0 positioned at the log's end", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].NextOffset == 2
	})
	produce(0, "c-0", `{"type":"x"}`)
	waitSeen(t, d, 1)
	waitCommitted(t, b, d, "the first event")

	if _, err := kadm.NewClient(b.Client(t)).CreatePartitions(context.Background(), 1, "events"); err != nil {
		t.Fatal(err)
	}
	for range 3 { // before the daemon knows of the partition
		produce(1, "c-1", `{"type":"x"}`)
	}
	produce(0, "c-0", `not json`) // the dead letter's produce refreshes the daemon's metadata
	poll.Until(t, time.Minute, "partition 1 assigned", func() bool { return len(d.Partitions()) == 2 })
	produce(1, "c-1", `{"type":"x"}`)
	// All four: the fourth may come a fetch after the first three.
	poll.Until(t, wait, "c-1's four events counted", func() bool {
		c, _ := d.Count(r.Key(), "c-1")
		return c.Count >= 4
	})
	// Every record handled and committed: a count past four, from reading one again
	// in this pass, is in.
	waitCommitted(t, b, d, "every event")
	if c, _ := d.Count(r.Key(), "c-1"); c.Count != 4 {
		t.Errorf("customer c-1 (the new partition): count %d, want 4", c.Count)
	}
	if c, _ := d.Count(r.Key(), "c-0"); c.Count != 1 {
		t.Errorf("customer c-0: count %d, want 1 (the 2 events before the new group started are not its to count)", c.Count)
	}
}

// TestPartitionAddedIsReadWithinMetadataMaxAge: a partition added to the events topic
// is assigned and read once the daemon's view of the topic is refreshed
// (KafkaConfig.MetadataMaxAge), with nothing else happening to refresh it: franz-go's
// default of 5 minutes left such a partition unread that long (a review helper's
// kill -9 runs with partitions added found it).
func TestPartitionAddedIsReadWithinMetadataMaxAge(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the consumer's metadata refresh (5 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"all","scope":"*","version":1,"when":{"path":"$.type"},"threshold":1000000}`)
	b.Produce(t, livetest.Upsert(t, r))
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Kafka.MetadataMaxAge = 5 * time.Second })
	poll.Until(t, wait, "partition 0 assigned", func() bool { return len(d.Partitions()) == 1 })
	if _, err := kadm.NewClient(b.Client(t)).CreatePartitions(context.Background(), 1, "events"); err != nil {
		t.Fatal(err)
	}
	cl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner())) // fresh metadata
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Partition: 1, Key: []byte("c-1"), Value: []byte(`{"type":"x"}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "the new partition's event counted", func() bool {
		c, _ := d.Count(r.Key(), "c-1")
		return c.Count == 1
	})
}
