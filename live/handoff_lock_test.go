package live

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// Alerts that history raises are produced without the partition's lock: a producer
// whose buffer is full (its broker does not answer) must not stall the partition's
// events, and no snapshot may cover counts whose alerts are not queued yet.
func TestBackfillAlertsProducedOutsidePartitionLock(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 1)
	d := f.d
	d.m = newMetrics(prometheus.NewRegistry())
	d.log = d.cfg.Logger
	// A broker that accepts connections and never answers: records stay buffered.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d.alertProducer, err = kgo.NewClient(kgo.SeedBrokers(ln.Addr().String()), kgo.MaxBufferedRecords(1), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	d.reroute = ingest.NewRerouter(d.alertProducer, "events.dlq", ingest.DefaultDeadLetterMaxBytes, nil, ingest.NewMetrics(nil), d.log)
	// An empty lake and no brokers: the crossings' events are not found, and the
	// alerts name the start offset (the lock, not the record, is what this tests).
	lake, err := lakehouse.OpenLake(context.Background(), "file://"+t.TempDir(), lakehouse.StorageConfig{Logger: d.log})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	d.rules = controls.NewRegistry()
	d.bf = &backfiller{ctx: context.Background(), log: d.log, history: backtest.Config{Lake: lake}, minBackoff: time.Millisecond, maxBackoff: time.Millisecond}
	ar := f.rules[0]
	p := newPartition(0)
	p.next = 100
	pb := &pendingBackfill{start: 100, began: time.Now(), cancel: func() {}}
	p.starts[ar], p.pending[ar] = 100, pb
	res := &backfill.Result{Counts: map[string]int64{"c-1": ar.Rule.Threshold.Count(), "c-2": ar.Rule.Threshold.Count(), "c-3": ar.Rule.Threshold.Count()}}

	finished := make(chan struct{})
	go func() {
		defer close(finished)
		d.finishBackfill(p, ar, pb, res) // blocks producing the second alert
	}()
	var unqueued int
	if !poll.Within(10*time.Second, func() bool {
		// TryLock: a partition held for the whole produce would block a Lock here.
		if !p.mu.TryLock() {
			return false
		}
		defer p.mu.Unlock()
		unqueued = p.unqueuedAlerts
		return p.pending[ar] == nil
	}) {
		t.Fatal("the partition stayed locked while history's alerts were produced")
	}
	if unqueued != 1 {
		t.Errorf("unqueuedAlerts = %d while alerts are being produced, want 1", unqueued)
	}
	select {
	case <-finished:
		t.Fatal("producing 3 alerts into a buffer of 1 with no broker did not block: the test shows nothing")
	case <-time.After(100 * time.Millisecond):
	}
	d.alertProducer.Close() // fails the blocked produce
	<-finished
	if p.unqueuedAlerts != 0 {
		t.Fatalf("unqueuedAlerts = %d after the alerts were handed over", p.unqueuedAlerts)
	}
}

// A job is in its partition's pending jobs before a worker can take it: a result
// finds itself there and is applied. The restore started jobs and recorded them after,
// unlocked, so a job that finished first dropped its result and its version stayed
// "backfilling" for good.
func TestJobIsPendingBeforeItIsQueued(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 2)
	d := f.d
	d.m = newMetrics(prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.bf = &backfiller{ctx: ctx, log: d.cfg.Logger, queue: newFairQueue[*handoffJob]()}
	p := newPartition(0)
	plain, windowed := f.rules[0], f.rules[1]
	windowed.Rule.Window = &rule.Window{Size: rule.Duration(time.Minute)}
	if windowed.Rule.Plain() {
		t.Fatal("the second rule is not windowed")
	}
	d.startBackfill(p, plain, 10, 10, false)
	d.startWindowHandoff(p, windowed, 10, 12, false)
	for range 2 {
		j, ok := d.bf.queue.pop(ctx)
		if !ok {
			t.Fatal("no job queued")
		}
		if got := p.pending[j.ar]; got != j.pb {
			t.Errorf("rule %s: the queued job is not its partition's pending one (%p, want %p)", j.ar.Key, got, j.pb)
		}
		if !j.ar.Rule.Plain() && p.buffers[j.ar] == nil {
			t.Errorf("rule %s: windowed job queued before its buffer", j.ar.Key)
		}
	}
}
