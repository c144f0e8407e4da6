package live_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestStartAtLatestNewGroupSkipsBacklogWhenBoundsUnknown: a group new to the events
// topic under --start-at latest does not count what its partitions held before it
// started, also when the daemon cannot list the log's bounds (ResumeAt gives the
// partition no position): the client's reset is then where it starts.
func TestStartAtLatestNewGroupSkipsBacklogWhenBoundsUnknown(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"all","scope":"*","version":1,"when":{"path":"$.type"},"threshold":1000000}`)
	b.Produce(t, livetest.Upsert(t, r))
	b.Produce(t, livetest.Event("old", `{"type":"x"}`), livetest.Event("old", `{"type":"x"}`), livetest.Event("old", `{"type":"x"}`))

	// Admin listings of the events topic (kadm's, no leader epoch) fail; the
	// consumer's own (with the leader epoch it knows) are answered.
	var adminFailed, consumerListed atomic.Int32
	b.Cluster.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		b.Cluster.KeepControl()
		r := req.(*kmsg.ListOffsetsRequest)
		if len(r.Topics) == 0 || r.Topics[0].Topic != "events" || len(r.Topics[0].Partitions) == 0 {
			return nil, nil, false
		}
		if r.Topics[0].Partitions[0].CurrentLeaderEpoch >= 0 {
			consumerListed.Add(1)
			return nil, nil, false
		}
		adminFailed.Add(1)
		return listOffsetsRefused(r), nil, true
	})
	// A short patience: the test is about what follows the retries, not their length.
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.StartAt, c.RestorePatience = "latest", 300*time.Millisecond })
	poll.Until(t, time.Minute, "the consumer's own listing of the events partition", func() bool { return consumerListed.Load() > 0 })
	if adminFailed.Load() == 0 {
		t.Fatal("no admin listing failed: the test shows nothing")
	}
	b.Produce(t, livetest.Event("new", `{"type":"x"}`))
	poll.Until(t, wait, "the new event counted", func() bool {
		c, _ := d.Count(r.Key(), "new")
		return c.Count == 1
	})
	if c, _ := d.Count(r.Key(), "old"); c.Count != 0 {
		t.Errorf("customer old: count %d, want 0 (the 3 events before the new group started under --start-at latest are not its to count)", c.Count)
	}
}
