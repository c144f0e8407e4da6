package live_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
)

// TestStatusOutageDoesNotDropKeepers: Keepers (the upserts that keep a key's active
// rule through compaction) were produced on the control statuses' client. With the
// status topic refusing writes, 50,000 statuses filled its buffer, and a Keeper written
// then found it full and was dropped for good, even once the topic took writes again:
// compaction would keep only the stale upsert, and the next fold run the old version (a
// review's test). Keepers have a client of their own, and wait for room.
func TestStatusOutageDoesNotDropKeepers(t *testing.T) {
	if testing.Short() {
		t.Skip("folds 50,001 controls (20 s): make test runs it")
	}
	t.Parallel()
	const n = 50_001
	b := compactedControls(t)
	up := func(version int, path string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte("*/s"), Value: []byte(fmt.Sprintf(`{"op":"upsert","rule":{"id":"s","scope":"*","version":%d,"threshold":100,"when":{"path":%q}}}`, version, path))}
	}
	b.Produce(t, up(2, "$.new"))
	b.Produce(t, up(1, "$.old")) // stale: its Keeper (an upsert of version 2) must follow it
	recs := make([]*kgo.Record, 0, 5000)
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: "controls", Key: []byte(fmt.Sprintf("c-%d/r", i)), Value: []byte("not json")})
		if len(recs) == cap(recs) || i == n-1 {
			b.Produce(t, recs...)
			recs = recs[:0]
		}
	}
	var refusing atomic.Bool
	refusing.Store(true)
	b.FailProduces(t, "controls.status", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return refusing.Load() })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	d, err := live.Start(ctx, live.Config{Registry: reg,
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, HTTPAddr: "127.0.0.1:0", Group: "keepers-not-dropped",
		CommitInterval: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LakeURL: "file://" + t.TempDir(), NoArchive: true, NoBackfill: true, ShutdownTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.RulesLoaded():
	case <-time.After(90 * time.Second):
		t.Fatal("rules not loaded")
	}
	droppedOnControls := promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "controls")
	t.Logf("dropped on controls.status: %v", promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "controls.status"))
	refusing.Store(false) // the status topic recovers
	time.Sleep(5 * time.Second)
	cancel()
	<-d.Done()

	keepers := 0
	// All of it (until the timeout): the Keepers of the invalid controls are there too.
	for _, r := range b.Consume(t, "controls", 1<<30, 15*time.Second) {
		for _, h := range r.Headers {
			if h.Key == controls.HeaderKeeperAfter && string(r.Key) == "*/s" {
				keepers++
			}
		}
	}
	if keepers == 0 {
		t.Fatalf("no Keeper of */s on the controls topic after the status topic recovered: compaction keeps the stale version 1 alone (records dropped on the controls topic: %v)", droppedOnControls)
	}
}
