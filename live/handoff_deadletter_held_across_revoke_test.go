package live_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestHandoffDeadLetterHeldAcrossRevokeIsGivenUp: the alerts topic and the
// dead-letter topic both refuse writes (ACLs not yet granted) when a rule's hand-off
// raises an alert per customer on both partitions: each goes to the dead-letter topic
// through daemon A's own Rerouter, which holds it. Daemon B joins and takes one
// partition. A's Rerouter held them on its client's context, not per partition, so
// the revoked partition's went on being retried, and once the dead-letter topic took
// writes A wrote them, though the partition (whose snapshot could not be stored
// while they were held) is B's, which raises them again. A should give up the holds
// of the partition it gave away, as the events consumer does: A writes the dead
// letters of the partition it kept, no others.
func TestHandoffDeadLetterHeldAcrossRevokeIsGivenUp(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a rebalance and held dead letters: make test runs it")
	}
	t.Parallel() // own broker, lake and registries; it waits, on a rebalance and retries
	const customers = 20
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	for i := range customers {
		b.Produce(t, livetest.Event(fmt.Sprintf("c-%02d", i), `{"type":"x"}`))
	}
	perPartition := map[int32]int{}
	for _, r := range b.Consume(t, "events", customers, 30*time.Second) {
		perPartition[r.Partition]++
	}
	var refusingAlerts, refusingDeadLetters atomic.Bool
	refusingAlerts.Store(true)
	refusingDeadLetters.Store(true)
	lake := "file://" + t.TempDir()
	cfg := func(reg *prometheus.Registry) func(*live.Config) {
		return func(c *live.Config) {
			c.Registry = reg
			c.LakeURL, c.NoArchive, c.NoBackfill = lake, true, false // the hand-off reads the events from Kafka
			c.ShutdownTimeout = 2 * time.Second
			c.CommitInterval = 100 * time.Millisecond
		}
	}
	regA := prometheus.NewRegistry()
	a, _ := livetest.StartLive(t, b, cfg(regA))
	poll.Until(t, 60*time.Second, "A reading every event", func() bool { return a.EventsSeen() == customers })
	b.RefuseProduces(t, "alerts", refusingAlerts.Load)
	b.RefuseProduces(t, "events.dlq", refusingDeadLetters.Load)
	t.Cleanup(func() { refusingAlerts.Store(false); refusingDeadLetters.Store(false) })
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"x","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},"threshold":1}`)))
	poll.Until(t, 60*time.Second, "A's hand-off alerts refused and their dead letters held", func() bool {
		return promtest.Value(t, regA, "hindsight_produce_errors_total", "topic", "alerts") >= customers &&
			promtest.Value(t, regA, "hindsight_produce_errors_total", "topic", "events.dlq") >= customers
	})

	bd, _ := livetest.StartLive(t, b, cfg(prometheus.NewRegistry()))
	poll.Until(t, 60*time.Second, "B taking a partition from A", func() bool {
		return len(a.Partitions()) == 1 && len(bd.Partitions()) == 1
	})
	kept := a.Partitions()[0]
	refusingDeadLetters.Store(false)
	poll.Until(t, 90*time.Second, "A's held dead letters ended", func() bool {
		return promtest.Value(t, regA, "hindsight_dead_letters_total", "reason", "not_produced") >= float64(perPartition[kept]) &&
			promtest.Value(t, regA, "hindsight_produce_oldest_wait_seconds", "topic", "events.dlq") <= 0
	})
	if got := promtest.Value(t, regA, "hindsight_dead_letters_total", "reason", "not_produced"); got != float64(perPartition[kept]) {
		t.Fatalf("A wrote %v dead letters of hand-off alerts; the partition it kept (%d) raised %d (per partition %v): it wrote those of the partition it gave to B too",
			got, kept, perPartition[kept], perPartition)
	}
}
