package ingest

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestControlReaderCatchesUpOnEmptiedLog: a controls topic with time retention
// (cleanup.policy "compact,delete", a common setting, or a topic made before
// EnsureTopics with the broker's default "delete") whose controls were all written
// longer ago than retention.ms: the broker deletes every batch, the active one too
// (Kafka rolls it first), and the log's start reaches its end, above 0. There is
// nothing to read, and the reader catches up at once (logging that controls were
// deleted). It waited for a record at end-1 that never came, so
// caughtUp was never called: live never loaded its rules nor started consuming events
// (/readyz 503), notify never delivered, and `rules list`/`apply` ran into their timeout.
func TestControlReaderCatchesUpOnEmptiedLog(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.SetTopicConfig(t, "controls", "cleanup.policy", "compact,delete")
	b.SetTopicConfig(t, "controls", "retention.ms", "3600000") // 1 h
	old := time.Now().Add(-2 * time.Hour)
	rec := func(id string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte("*/" + id), Timestamp: old,
			Value: []byte(`{"op":"upsert","rule":{"id":"` + id + `","scope":"*","threshold":1,"when":{"path":"$.x"}}}`)}
	}
	b.Produce(t, rec("a"))
	b.Produce(t, rec("b"))
	b.Cluster.ApplyRetention()

	if start := controlsLogStart(t, b); start != 2 {
		t.Fatalf("retention left the log starting at %d, want 2 (emptied)", start)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var logs syncBuffer
	r := testControlReader(t, b, slog.New(slog.NewTextHandler(&logs, nil)))
	caught := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func([]controls.Record) {}, func() { close(caught) }) }()
	began := time.Now()
	select {
	case <-caught:
	case <-time.After(8 * time.Second):
		t.Errorf("the controls reader of an emptied log (start = end = 2) has not caught up after %v: live never loads its rules nor reads events, notify never delivers", time.Since(began).Round(time.Second))
	}
	cancel()
	<-done
	if out := logs.String(); !strings.Contains(out, controlsDeletedLog) {
		t.Errorf("the emptied controls topic is not reported deleted; the log:\n%s", out)
	}
}

// controlsLogStart is where b's controls log starts.
func controlsLogStart(t *testing.T, b *kafkatest.Broker) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lo, err := kadm.NewClient(b.Client(t)).ListStartOffsets(ctx, "controls")
	if err != nil {
		t.Fatal(err)
	}
	start, _ := lo.Lookup("controls", 0)
	return start.Offset
}

// testControlReader is a ControlReader of b's controls topic logging to log (nil: the
// default logger), closed when the test ends.
func testControlReader(t *testing.T, b *kafkatest.Broker, log *slog.Logger) *ControlReader {
	t.Helper()
	var topics Topics
	topics.EnsureDefaults()
	r, err := NewControlReader(ControlsConfig{Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Topics: topics, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}
