package ingest

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestEmbeddedRetentionBytesDeletesNothingByAge: --embedded-retention-bytes is a bound
// in bytes on the events, alerts, dead-letter and undelivered topics (README, Limits:
// "the oldest record batches are deleted, as by Kafka's retention.bytes"); the controls
// and control-status topics keep everything. A
// control written eight days ago (a rule applied last week) and an event whose record
// timestamp is eight days old, both far below the byte bound, stay. Setting the byte
// bound turned on the broker's retention pass, which also applied its default
// retention.ms (7 days) to every topic: the rule vanished from the controls topic, and
// the next restart came up without it.
func TestEmbeddedRetentionBytesDeletesNothingByAge(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out four of the broker's retention passes (4 s): make test runs it")
	}
	t.Parallel()
	ctx, cl := startWithClient(t, EmbeddedConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), RetentionBytes: 1 << 20},
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var topics Topics
	topics.EnsureDefaults()
	old := time.Now().Add(-8 * 24 * time.Hour)
	control := `{"op":"upsert","rule":{"id":"fails","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":5}}`
	recs := []*kgo.Record{
		{Topic: topics.Controls, Partition: 0, Key: []byte("*/fails"), Value: []byte(control), Timestamp: old},
		{Topic: topics.Events, Partition: 0, Key: []byte("c-1"), Value: []byte(`{"customer":"c-1","type":"login.failed"}`), Timestamp: old},
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Retention runs every retentionCheckMs: wait for a few of its passes. A timer is
	// the scenario: nothing may be deleted by age over them, and nothing the broker
	// shows marks a pass.
	time.Sleep(4 * retentionCheckMs * time.Millisecond)
	listed, err := kadm.NewClient(cl).ListStartOffsets(ctx, topics.Controls, topics.Events)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	listed.Each(func(o kadm.ListedOffset) {
		if o.Partition == 0 && o.Offset != 0 {
			t.Errorf("topic %s partition 0 starts at %d: a record of %d bytes, far below retention.bytes %d, was deleted for its age", o.Topic, o.Offset, 200, 1<<20)
		}
	})
}
