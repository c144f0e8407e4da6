package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// controlsDeletedLog starts the reader's log line of a controls topic whose every
// control was deleted (ControlReader.endOffsets).
const controlsDeletedLog = "every control was deleted from the controls topic"

// syncBuffer is a log writer the reader and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
func (w *syncBuffer) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

// TestCompactedControlsAreNotReportedDeleted: a controls topic with
// cleanup.policy=compact alone (as EnsureTopics makes it), where a rule was upserted
// twice: compaction drops the first upsert, and the broker (kfake, the embedded and
// test broker) moves the log's start past it. Nothing was lost, and the reader logs no
// deletion: it logged at ERROR that "controls were deleted ... the rules, destinations
// and mutes they held are gone" and told the operator to fix a topic configured as
// advised.
func TestCompactedControlsAreNotReportedDeleted(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.SetTopicConfig(t, "controls", "cleanup.policy", "compact")
	rec := func(id, path string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte("*/" + id),
			Value: []byte(`{"op":"upsert","rule":{"id":"` + id + `","scope":"*","threshold":1,"when":{"path":"` + path + `"}}}`)}
	}
	b.Produce(t, rec("a", "$.x")) // superseded below
	b.Produce(t, rec("a", "$.y"))
	b.Produce(t, rec("b", "$.z"))
	b.Cluster.Compact()

	t.Logf("compacted controls log starts at %d", controlsLogStart(t, b))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var logs syncBuffer
	r := testControlReader(t, b, slog.New(slog.NewTextHandler(&logs, nil)))
	var mu sync.Mutex
	var keys []string
	caught := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, func(recs []controls.Record) {
			mu.Lock()
			defer mu.Unlock()
			for _, rec := range recs {
				keys = append(keys, rec.Key)
			}
		}, func() { close(caught) })
	}()
	select {
	case <-caught:
	case <-ctx.Done():
		t.Fatal("not caught up")
	}
	cancel()
	<-done
	mu.Lock()
	t.Logf("controls read after compaction: %v (every rule kept)", keys)
	mu.Unlock()
	if out := logs.String(); strings.Contains(out, controlsDeletedLog) {
		t.Errorf("a compact-only controls topic, whose compaction lost nothing, is reported deleted at ERROR:\n%s", out)
	}
}

// TestEmptyControlsTopicIsNotReportedDeleted: a controls topic nothing was written to
// yet (a first start) starts and ends at 0: nothing was deleted, and the reader
// catches up without logging that every control was.
func TestEmptyControlsTopicIsNotReportedDeleted(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var logs syncBuffer
	r := testControlReader(t, b, slog.New(slog.NewTextHandler(&logs, nil)))
	caught := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func([]controls.Record) {}, func() { close(caught) }) }()
	select {
	case <-caught:
	case <-ctx.Done():
		t.Fatal("not caught up")
	}
	cancel()
	<-done
	if out := logs.String(); strings.Contains(out, controlsDeletedLog) {
		t.Errorf("an empty controls topic is reported deleted at ERROR:\n%s", out)
	}
}
