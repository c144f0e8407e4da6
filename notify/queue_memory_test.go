package notify_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestQueuedDeliveriesHoldOnlyTheirAlerts: a destination whose receiver hangs has a
// full queue (--notify-queue-size) of small alerts, each read in a fetch with large
// alerts that notify nobody (a flood of big alerts, one in a hundred for a webhook).
// The queue bounds the deliveries waiting; what they hold must be their alerts. A job
// kept its *kgo.Record, whose key and value are slices of the fetch they came in, so
// each queued delivery of a 389-byte alert kept its whole fetch (41 held 35.6 MB); a
// job now keeps the record's partition and offset. Measured as the heap freed once
// the queue drains. Not parallel: it measures the heap, which parallel tests change
// (it failed once so in CI's race pass, freeing 5 MB).
func TestQueuedDeliveriesHoldOnlyTheirAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("alone (it measures the heap) for 3 s: make test runs it")
	}
	b := startBroker(t)
	release := make(chan struct{})
	hold := newSink(t, holdUntil(release))
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "slow", Type: rule.DestWebhook, URL: hold.srv.URL + "/hook"}))...)

	const queueSize = 40
	const padBytes = 900_000
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-queue-memory",
		QueueSize: queueSize, Concurrency: 1,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Registerer: reg, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)

	// Each round is one batch: an alert of 900 KB naming no destination (skipped
	// undecoded), then a small one for "slow".
	pad := alertFor("pad", "c-1", nil)
	pad.Context = map[string]json.RawMessage{"$.blob": json.RawMessage(`"` + string(bytes.Repeat([]byte("z"), padBytes)) + `"`)}
	const rounds = queueSize + 1 // one in flight, the rest queued
	small := 0
	for i := range rounds {
		pad.AlertID = fmt.Sprintf("pad%d", i)
		pv, _ := json.Marshal(pad)
		sv, _ := json.Marshal(alertFor(fmt.Sprintf("a%d", i), "c-1", []string{"slow"}))
		small = len(sv)
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: pv}, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: sv})
	}
	poll.Until(t, 15*time.Second, "every alert read, the queue full", func() bool {
		return promtest.Sum(t, reg, "hindsight_notify_alerts_total") == 2*rounds &&
			promtest.Value(t, reg, "hindsight_notify_queued", "destination", "slow") == queueSize
	})
	held := heapInUse()
	close(release)
	poll.Until(t, 15*time.Second, "the queue delivered", func() bool { return len(hold.delivered()) == rounds })
	time.Sleep(200 * time.Millisecond) // the last worker returns from finished
	drained := heapInUse()
	pinned := int64(held) - int64(drained)
	t.Logf("heap in use with %d deliveries queued/in flight: %d MB; after they were delivered: %d MB; freed %d MB (%d alerts of %d bytes)",
		rounds, held>>20, drained>>20, pinned>>20, rounds, small)
	if limit := int64(rounds) * 64 << 10; pinned > limit {
		t.Errorf("%d queued deliveries of %d-byte alerts held %d bytes (%d KB each): more than their alerts; want at most %d",
			rounds, small, pinned, pinned/int64(rounds)>>10, limit)
	}
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
