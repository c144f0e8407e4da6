package demo

import (
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/ingest"
)

// The producer's loop checks its context at every event: asked for 10^9 events a
// second (beyond MaxRate, which Validate refuses, so only through the package's own
// use), it stops within moments of its context's end. It sent every event due
// without looking, 2×10^7 after its first 20 ms tick, and `hindsight demo --rate
// 1000000000 --duration 8s` ran on at 90% CPU past its duration and SIGTERM.
func TestProduceStopsWithItsContextWhateverIsDue(t *testing.T) {
	t.Parallel()
	e, err := ingest.StartEmbedded(ingest.EmbeddedConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var topics ingest.Topics
	topics.EnsureDefaults()
	v := &view{cfg: Config{Rate: 1_000_000_000, Customers: 50, Seed: 1, MalformedEvery: 500}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.produce(ctx, ingest.KafkaConfig{Brokers: []string{e.Addr}}, topics, nil)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("the producer at 10^9 events/s still runs %v after its context ended (1s); sent %d", time.Since(start)-time.Second, v.sentCount())
	}
	// Its context's second, then the flush of what the client holds (at most 5 s).
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the producer at 10^9 events/s returned %v after its start, its context ending at 1s", took)
	}
	if sent := v.sentCount(); sent == 0 || sent > 5_000_000 {
		t.Errorf("the producer sent %d events in its second: want some, and far fewer than the 10^8 a tick may make due", sent)
	}
}

// A tick sends what is due since the start, but at most a tenth of a second's events
// more than were sent: a producer behind catches up over later ticks.
func TestDueByCapsATicksBatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		elapsed    time.Duration
		rate, sent int
		want       int
	}{
		{20 * time.Millisecond, 200, 0, 4},                    // on time: what is due
		{10 * time.Second, 200, 0, 20},                        // 2,000 due: a tenth of a second's, 20
		{10 * time.Second, 200, 1990, 2000},                   // nearly caught up
		{20 * time.Millisecond, MaxRate, 0, 200},              // at the maximum, on time
		{20 * time.Millisecond, 1_000_000_000, 0, 20_000_000}, // 10^9/s: the tick's 2×10^7 (under the cap of 10^8)
		{time.Second, 1_000_000_000, 5_000_000, 105_000_000},  // 10^9 due: 10^8 more than sent
		{time.Millisecond, 1, 0, 0},                           // a slow rate: nothing yet
		{time.Hour, 1, 0, 1},                                  // and one at a time when behind
	} {
		if got := dueBy(c.elapsed, c.rate, c.sent); got != c.want {
			t.Errorf("dueBy(%v, %d/s, %d sent) = %d, want %d", c.elapsed, c.rate, c.sent, got, c.want)
		}
	}
}
