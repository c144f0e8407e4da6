package live_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSessionTimeoutRefusedByTheBrokerStopsTheDaemon: a --session-timeout the brokers
// refuse (below their group.min.session.timeout.ms, 6 s by default; the daemon's own
// check only asks for 100 ms) makes every JoinGroup fail with INVALID_SESSION_TIMEOUT,
// an answer no retry changes. The package contract says the daemon stops with an error
// when "its consumer is refused for good", as it does for an authorization refusal; a
// member that never joins reads nothing, owns no partition and its group's events wait
// for ever while it logs a fetch warning every few seconds.
func TestSessionTimeoutRefusedByTheBrokerStopsTheDaemon(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2}) // the broker's default minimum, 6 s
	b.Produce(t, livetest.Event("c-1", `{"type":"login"}`))
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.SessionTimeout = time.Second })
	select {
	case <-d.Done():
		if err := d.Wait(); err == nil {
			t.Errorf("the daemon stopped without an error")
		} else {
			t.Logf("stopped: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("the daemon is still running 20s after start with a session timeout the broker refuses: partitions %v, events seen %d",
			d.Partitions(), d.EventsSeen())
	}
}
