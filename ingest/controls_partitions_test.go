package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestControlsTopicOfManyPartitionsIsRefused: an operator who made the controls topic
// with three partitions (a cluster's default) had it read without a word: controls of
// one key in different partitions were applied in no defined order, and the fold's
// position mixed offsets of different partitions. The reader refuses it, naming the
// topic and its partitions, and says what Hindsight needs.
func TestControlsTopicOfManyPartitionsIsRefused(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.RecreateTopic(t, "controls", 3)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := testControlReader(t, b, nil)
	caught := false
	err := r.Run(ctx, func([]controls.Record) {}, func() { caught = true })
	if !errors.Is(err, ErrControlsPartitions) {
		t.Fatalf("reading a controls topic of 3 partitions: Run returned %v, want ErrControlsPartitions", err)
	}
	if caught {
		t.Error("the reader said it caught up with a controls topic it refused")
	}
	if msg := err.Error(); !strings.Contains(msg, "controls has 3") || !strings.Contains(msg, "exactly one partition") {
		t.Errorf("the refusal %q names neither the topic and its 3 partitions nor what is needed", msg)
	}
}
