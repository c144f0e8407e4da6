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
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
)

// invalidControls is one more control than franz-go buffers unacknowledged (50,000):
// each is folded as "invalid", reported on the status topic, and holds no rule.
const invalidControls = 50_001

// refuseStatusesAfterInvalidControls puts invalidControls invalid controls on b's
// controls topic, then makes the control-status topic refuse writes with a retriable
// error (NOT_ENOUGH_REPLICAS: an under-replicated topic) while refusing holds.
func refuseStatusesAfterInvalidControls(t *testing.T, b *kafkatest.Broker, refusing *atomic.Bool) {
	recs := make([]*kgo.Record, 0, 5000)
	for i := range invalidControls {
		recs = append(recs, &kgo.Record{Topic: "controls", Key: []byte(fmt.Sprintf("c-%d/r", i)), Value: []byte("not json")})
		if len(recs) == cap(recs) || i == invalidControls-1 {
			b.Produce(t, recs...)
			recs = recs[:0]
		}
	}
	refusing.Store(true)
	b.FailProduces(t, "controls.status", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return refusing.Load() })
}

// startFolding starts a daemon on b that logs nothing (50,001 "control not applied"
// lines) and waits up to 90 s for its rules to load; loaded says whether they did.
func startFolding(ctx context.Context, t *testing.T, b *kafkatest.Broker, reg *prometheus.Registry, group string) (d *live.Daemon, loaded bool) {
	d, err := live.Start(ctx, live.Config{Registry: reg,
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, HTTPAddr: "127.0.0.1:0", Group: group,
		CommitInterval: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LakeURL: "file://" + t.TempDir(), NoArchive: true, NoBackfill: true, ShutdownTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.RulesLoaded():
		return d, true
	case <-time.After(90 * time.Second):
		return d, false
	}
}

// TestStatusTopicRefusingDoesNotStopTheControlFold: the control-status topic refusing
// writes must not stop the daemon from folding its controls, nor from stopping. Each
// control's status was produced with context.Background() on the control reader's
// client, whose records are retried without end and whose buffer holds at most 50,000
// of them: past that, Report blocked the control fold for good — rules never loaded, no
// event was consumed — and the shutdown waited for it for ever (a hunt's test).
func TestStatusTopicRefusingDoesNotStopTheControlFold(t *testing.T) {
	if testing.Short() {
		t.Skip("folds 50,001 controls (7 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	var refusing atomic.Bool
	refuseStatusesAfterInvalidControls(t, b, &refusing)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	d, loaded := startFolding(ctx, t, b, reg, "status-refused")
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
		t.Fatalf("controls.status refusing writes (retriable), %d controls on the topic: rules loaded within 90s: %v; daemon stopped within 30s of its cancel: %v", invalidControls, loaded, stopped)
	}
	if dropped < 1 {
		t.Errorf("statuses dropped counted: %v, want at least 1", dropped)
	}
}

// TestStatusOutageDoesNotDropKeepers: Keepers (the upserts that keep a key's active
// rule through compaction) were produced on the control statuses' client. With the
// status topic refusing writes, 50,000 statuses filled its buffer, and a Keeper written
// then found it full and was dropped for good, even once the topic took writes again:
// compaction would keep only the stale upsert, and the next fold run the old version (a
// review's test). Keepers have a client of their own, and wait for room.
func TestStatusOutageDoesNotDropKeepers(t *testing.T) {
	if testing.Short() {
		t.Skip("folds 50,001 controls: make test runs it")
	}
	t.Parallel()
	b := compactedControls(t)
	up := func(version int, path string) *kgo.Record {
		return &kgo.Record{Topic: "controls", Key: []byte("*/s"), Value: []byte(fmt.Sprintf(`{"op":"upsert","rule":{"id":"s","scope":"*","version":%d,"threshold":100,"when":{"path":%q}}}`, version, path))}
	}
	b.Produce(t, up(2, "$.new"))
	b.Produce(t, up(1, "$.old")) // stale: its Keeper (an upsert of version 2) must follow it
	var refusing atomic.Bool
	refuseStatusesAfterInvalidControls(t, b, &refusing)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	d, loaded := startFolding(ctx, t, b, reg, "keepers-not-dropped")
	if !loaded {
		t.Fatal("rules not loaded within 90s")
	}
	droppedOnControls := promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "controls")
	refusing.Store(false) // the status topic recovers

	// The controls topic read as it grows, until a Keeper of */s is on it (the Keepers
	// of the invalid controls are there too) or the bound passes.
	cl := b.Client(t, kgo.ConsumeTopics("controls"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	keepers := 0
	poll.WithinEvery(30*time.Second, 0, func() bool {
		ctx, stop := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer stop()
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == controls.HeaderKeeperAfter && string(r.Key) == "*/s" {
					keepers++
				}
			}
		})
		return keepers > 0
	})
	cancel()
	<-d.Done()
	if keepers == 0 {
		t.Fatalf("no Keeper of */s on the controls topic after the status topic recovered: compaction keeps the stale version 1 alone (records dropped on the controls topic: %v)", droppedOnControls)
	}
}
