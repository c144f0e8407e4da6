package console

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestAlertFeedOnEmptyTopicIsCaughtUpWithoutAPoll: with no alert on the topic, the
// feed has read it to its end as soon as it has listed the ends. It took the end of a
// poll that found nothing (2 s) instead, which every stream's first page on a new
// deployment waited for. The poll here would wait ten minutes, so only a feed that
// does not wait for it is caught up within the bound.
func TestAlertFeedOnEmptyTopicIsCaughtUpWithoutAPoll(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{})
	f := newAlertFeed(10, 10, slog.New(slog.NewTextHandler(io.Discard, nil)), func() (ingest.KafkaConfig, ingest.Topics) {
		return ingest.KafkaConfig{Brokers: []string{b.Addr}}, ingest.Topics{Alerts: "alerts"}
	}, func() {}, func() {})
	f.quiet = 10 * time.Minute
	defer f.close()
	if alerts, _ := f.recent(); len(alerts) != 0 {
		t.Fatalf("%d alerts on an empty topic", len(alerts))
	}
	select {
	case <-f.caughtUp:
	case <-time.After(30 * time.Second):
		t.Fatal("the feed of an empty alerts topic was not caught up within 30s of starting: it waited for a poll that finds nothing")
	}
}
