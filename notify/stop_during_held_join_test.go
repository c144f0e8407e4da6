package notify_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
)

// TestStopDuringHeldJoinIsBounded: a rebalance starts (another member joins the
// group) and the broker does not answer the stage's JoinGroup, as a broker waiting
// for a member killed mid-rebalance does for the rebalance timeout (a minute). A
// stop then must still end within the stage's bounds: franz-go's Close leaves the
// group only once the join in flight is answered, and a live daemon's stop waited
// more than 30 s on it.
func TestStopDuringHeldJoinIsBounded(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	const group = "notify-held-join"
	st := boundedStopStage(t, b, group)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()

	// The stage is a member, its partition assigned and its first alert committed:
	// nothing is left for its final commit, which a join in flight would hold too.
	v, _ := json.Marshal(alertFor("a0", "c-1", nil))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	poll.Until(t, 20*time.Second, "a0 read and committed", func() bool { return b.GroupCommitted(t, group, "alerts") == 1 })

	// From now on the broker leaves unanswered every JoinGroup of a member subscribed
	// to the alerts topic: the stage's rejoin (handled, with no response, so franz-go
	// waits for it until its read timeout, over a minute). The other member subscribes
	// to another topic, so its own joins go on to the group. Not SleepControl: a
	// control woken as the test ended left kfake's loop locked, a goroutine goleak
	// found at the package's end.
	var held atomic.Int32
	c := b.Cluster
	c.ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		jr := req.(*kmsg.JoinGroupRequest)
		if jr.Group != group {
			return nil, nil, false
		}
		for _, p := range jr.Protocols {
			var meta kmsg.ConsumerMemberMetadata
			if meta.ReadFrom(p.Metadata) == nil && slices.Contains(meta.Topics, "alerts") {
				held.Add(1)
				return nil, nil, true
			}
		}
		return nil, nil, false
	})

	// The other member's client is closed on a context cancelled first: its Close
	// waits, as the stage's did, for its join, which the broker answers only once the
	// stage rejoins or the rebalance times out.
	octx, ocancel := context.WithCancel(context.Background())
	b.Client(t, kgo.WithContext(octx), kgo.ConsumerGroup(group), kgo.ConsumeTopics("alerts.undelivered"))
	t.Cleanup(ocancel)
	poll.Until(t, 20*time.Second, "the stage's rejoin held by the broker", func() bool { return held.Load() >= 1 })

	cancel()
	// The bound is far above what the stop may take (its shutdown timeout is 200ms, its
	// final commit has nothing to wait for) and far below the minute the broker holds
	// the join for.
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the stage's stop was still waiting 20 s after its context ended, its shutdown timeout 200ms: Run waits for the JoinGroup the broker holds")
	}
}

// boundedStopStage is a stage of group on b, its shutdown timeout 200ms: the bound
// the stop tests hold its stop to while the broker leaves a request unanswered.
func boundedStopStage(t *testing.T, b *kafkatest.Broker, group string) *notify.Stage {
	t.Helper()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, ShutdownTimeout: 200 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
