package backtest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestBacktestOfARecreatedTopic: the lake holds a log of the events topic, which was
// then deleted and made again (its offsets start anew). A backtest reading Kafka beside
// the lake refuses them (ErrTopicMismatch): it counted the lake's old events and then
// the new log's from the lake's watermark on, as one history.
func TestBacktestOfARecreatedTopic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	lake, _ := livetest.Archive(t, b, produceHistory(t, b, 200))
	cfg := backtest.Config{Lake: lake, Rules: parseRules(t), Brokers: []string{b.Addr}}
	if _, err := backtest.Run(ctx, cfg); err != nil {
		t.Fatalf("the backtest before the topic was made again: %v", err)
	}
	b.RecreateTopic(t, "events", 1)
	produceHistory(t, b, 300)
	if _, err := backtest.Run(ctx, cfg); !errors.Is(err, lakehouse.ErrTopicMismatch) {
		t.Fatalf("a backtest over the old log's lake and the new log: err %v, want ErrTopicMismatch", err)
	}
}
