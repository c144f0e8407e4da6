package ingest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestEndedMuteStaysDroppedAfterItsTombstoneGoes: the variant of
// controls.TestEndedMuteDroppedBeforeCompactionStaysDropped with a tombstone (the
// contract's "no value = delete") instead of a delete record. Mute m1 ends; m2's
// upsert drops it (forgetEndedMutes) and a tombstone removes m2: the fold holds no
// mute. Compaction keeps m1's upsert (the newest record of its key), and once
// delete.retention.ms (1 day) has passed it removes m2's tombstone too, the only later
// mute control. Ended mutes are forgotten after every control, so the rule control
// after it drops m1 again: a restarted daemon (or `rules list`, the console) folded m1
// back, an ended mute the running daemon had dropped.
func TestEndedMuteStaysDroppedAfterItsTombstoneGoes(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.SetTopicConfig(t, "controls", "cleanup.policy", "compact")
	base := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	mute := func(id string, sec int, until time.Time) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte("mute:*/" + id), Timestamp: at(sec), Value: fmt.Appendf(nil,
			`{"op":"upsert","mute":{"scope":"*","id":%q,"rule":"*","until":%q}}`, id, until.UTC().Format(time.RFC3339))}
	}
	for _, r := range []*kgo.Record{ // one batch each: the broker compacts whole batches
		mute("m1", 0, at(1)),   // ends at 1
		mute("m2", 2, at(100)), // m1 ended: dropped
		{Topic: "controls", Key: []byte("mute:*/m2"), Timestamp: at(3)}, // tombstone: m2 removed
		{Topic: "controls", Key: []byte("*/r"), Timestamp: at(4), Value: []byte( // anything after, so that the tombstone is not in the last batch
			`{"op":"upsert","rule":{"id":"r","scope":"*","threshold":1,"when":{"path":"$.x"}}}`)},
	} {
		b.Produce(t, r)
	}
	mutes := func() []string {
		var topics Topics
		topics.EnsureDefaults()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		recs, err := ReadControls(ctx, ControlsConfig{Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Topics: topics})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range controls.Fold(recs).Mutes() {
			out = append(out, m.Scope+"/"+m.ID)
		}
		return out
	}
	before := mutes()
	b.Cluster.Compact()
	if after := mutes(); !slices.Equal(before, after) {
		t.Errorf("mutes folded before compaction %q, after compaction removed the day-old tombstone %q: a fold of the compacted topic must hold the same mutes", before, after)
	}
}
