package ingest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestMissingTopicsNamesTheDeadLetterTopic: a deployment that does not create topics
// (--no-create-topics) and lacks the dead-letter topic is told so at start, since the
// events consumer waits for an unknown topic rather than fail its dead letters.
func TestMissingTopicsNamesTheDeadLetterTopic(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events", "controls", "alerts", "controls.status", "alerts.undelivered"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var topics Topics
	topics.EnsureDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	missing, err := MissingTopics(ctx, KafkaConfig{Brokers: c.ListenAddrs()}, topics)
	if err != nil || !slices.Equal(missing, []string{"events.dlq"}) {
		t.Fatalf("MissingTopics = %v, %v; want [events.dlq]", missing, err)
	}
}
