package live_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestShutdownWithHandoffAlertsRefused: a rule's hand-off raises more alerts than the
// alert producer buffers (franz-go's MaxBufferedRecords, 50,000) while the alerts topic
// refuses writes with a retriable error. produceAlert blocked (Produce under
// context.Background()) in the backfill job's goroutine; the shutdown waits for that
// goroutine (backfiller.stop, bf.wg.Wait) before it closes the alert producer, the one
// thing that would unblock it, so the daemon never stopped. The daemon stopping now
// ends the wait, and the alerts not handed over keep the partition from a snapshot.
func TestShutdownWithHandoffAlertsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("raises 50,001 alerts of a hand-off: make test runs it")
	}
	t.Parallel()
	const n = 50_100 // customers, each crossing the threshold of 1 in the rule's history
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	recs := make([]*kgo.Record, 0, 5000)
	for i := 0; i < n; i++ {
		recs = append(recs, livetest.Event(fmt.Sprintf("c-%05d", i), `{"type":"x"}`))
		if len(recs) == cap(recs) || i == n-1 {
			b.Produce(t, recs...)
			recs = recs[:0]
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := live.Start(ctx, live.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, HTTPAddr: "127.0.0.1:0", Group: "bf-alerts-refused",
		CommitInterval: 100 * time.Millisecond, Logger: testlog.New(t), LakeURL: "file://" + t.TempDir(),
		NoArchive: true, ShutdownTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "every event read", func() bool { return d.EventsSeen() == n })
	b.FailProduces(t, "alerts", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return true })
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"x","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},"threshold":1}`)))
	// Raised and counted, the 50,001st alert is being handed to the full producer: the
	// old Produce under context.Background() blocked there whether the cancel came
	// before it or after.
	poll.Until(t, 120*time.Second, "the hand-off's alerts raised", func() bool { return d.AlertsRaised() >= 50_001 })
	t.Logf("alerts raised: %d", d.AlertsRaised())
	cancel()
	select {
	case <-d.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("alerts topic refusing writes (retriable), %d alerts raised by a hand-off: the daemon did not stop within 60s of its cancel (ShutdownTimeout 2s)", d.AlertsRaised())
	}
}
