package live_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
)

// TestStatusTopicRefusingDoesNotStopTheControlFold: the control-status topic refusing
// writes with a retriable error (NOT_ENOUGH_REPLICAS: an under-replicated topic) must
// not stop the daemon from folding its controls, nor from stopping. Each control's
// status is produced with context.Background() on the control reader's client, whose
// records are retried without end and whose buffer holds at most 50,000 of them
// (franz-go's MaxBufferedRecords): past that, Report blocks the control fold for good
// — rules never load, no event is consumed — and the shutdown waits for it for ever.
func TestStatusTopicRefusingDoesNotStopTheControlFold(t *testing.T) {
	if testing.Short() {
		t.Skip("folds 50,001 controls (7 s): make test runs it")
	}
	t.Parallel()
	const n = 50_001 // one more than the client buffers
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	recs := make([]*kgo.Record, 0, 5000)
	for i := 0; i < n; i++ {
		// Invalid controls: each is folded as "invalid" and reported, and holds no rule.
		recs = append(recs, &kgo.Record{Topic: "controls", Key: []byte(fmt.Sprintf("c-%d/r", i)), Value: []byte("not json")})
		if len(recs) == cap(recs) || i == n-1 {
			b.Produce(t, recs...)
			recs = recs[:0]
		}
	}
	b.FailProduces(t, "controls.status", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return true })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	d, err := live.Start(ctx, live.Config{Registry: reg,
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, HTTPAddr: "127.0.0.1:0", Group: "status-refused",
		CommitInterval: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), // 50,001 "control not applied" lines
		LakeURL: "file://" + t.TempDir(), NoArchive: true, NoBackfill: true, ShutdownTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	loaded := false
	select {
	case <-d.RulesLoaded():
		loaded = true
	case <-time.After(90 * time.Second):
	}
	// The statuses past the client's buffer are dropped, and counted.
	dropped := promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "controls.status")
	cancel()
	stopped := false
	select {
	case <-d.Done():
		stopped = true
	case <-time.After(30 * time.Second):
	}
	if !loaded || !stopped {
		t.Fatalf("controls.status refusing writes (retriable), %d controls on the topic: rules loaded within 90s: %v; daemon stopped within 30s of its cancel: %v", n, loaded, stopped)
	}
	if dropped < 1 {
		t.Errorf("statuses dropped counted: %v, want at least 1", dropped)
	}
}
