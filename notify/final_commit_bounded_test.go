package notify_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestStopWithCommitHeldIsBoundedByShutdownTimeout: the broker answers none of the
// stage's offset commits (a coordinator that hangs), and the stage stops with an
// alert handled but not committed. Its last commit, made on the way out, must give up
// within Config.ShutdownTimeout, as the stage's and live's docs say a stop is bounded
// by it: it waited a fixed 5 s, whatever the timeout (200ms here).
func TestStopWithCommitHeldIsBoundedByShutdownTimeout(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	const group = "notify-held-commit"
	st := boundedStopStage(t, b, group)

	// Every OffsetCommit of the group is handled with no response: franz-go waits for
	// one until its context ends (or its read timeout, far past the test). Not
	// SleepControl, for the reason TestStopDuringHeldJoinIsBounded gives. Held from
	// the start, so that no commit of the alert below gets through: the stop has it
	// left to commit.
	var held atomic.Int32
	c := b.Cluster
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if req.(*kmsg.OffsetCommitRequest).Group != group {
			return nil, nil, false
		}
		held.Add(1)
		return nil, nil, true
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	// Naming no destination, the alert is handled as read. The stage commits only
	// what it has handled and has not committed, so a held commit is one of a0, and
	// with none answered a0 is still uncommitted at the stop: the last commit is
	// made. It goes on the connection of the held one, which the broker (kfake, as
	// Kafka) reads no further until it answers: it waits as on a hung coordinator.
	v, _ := json.Marshal(alertFor("a0", "c-1", nil))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	poll.Until(t, 20*time.Second, "a commit of a0 held by the broker", func() bool { return held.Load() >= 1 })

	cancel()
	// A bound, not a speed: the stop may take its shutdown timeout (200ms) for the last
	// commit and again for leaving the group, plus the scheduling of a loaded machine;
	// 3 s is far above that and below the fixed 5 s the last commit waited, so only a
	// stop that is not bounded by the shutdown timeout fails here.
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the stage's stop was still waiting 3 s after its context ended, its shutdown timeout 200ms and its offset commits unanswered: the last commit is not bounded by the shutdown timeout")
	}
}
