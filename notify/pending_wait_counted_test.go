package notify

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestPendingWaitIsCountedInItsSeconds: README and the metric's help say the time
// reading waits at --notify-max-pending is shown in
// hindsight_notify_pending_wait_seconds_total. Only the wait's count
// (hindsight_limit_reached_total) was asserted: the mutation hunt dropped the seconds'
// increment and no test failed. With a limit of 1 and the oldest delivery held, the
// next alert waits until the test releases the held one, so the wait is over only once
// that alert is delivered, its time counted by then.
func TestPendingWaitIsCountedInItsSeconds(t *testing.T) {
	t.Parallel()
	r := newGrowthRig(t, "notify-pending-wait-seconds", Config{QueueSize: 10, Concurrency: 1, MaxPending: 1})
	r.b.Produce(t, growthAlert("first", "stuck"))
	r.b.Produce(t, growthAlert("a0", "fast"))
	poll.Until(t, 10*time.Second, "reading waiting at the limit", func() bool {
		return promtest.Value(t, r.reg, "hindsight_limit_reached_total", "name", LimitMaxPending) >= 1
	})
	if n := r.fastN.Load(); n != 0 {
		t.Fatalf("the fast destination got %d requests while reading waited, want 0", n)
	}
	r.Release()
	poll.Until(t, 10*time.Second, "a0 delivered once the wait ended", func() bool { return r.fastN.Load() == 1 })
	if secs := promtest.Sum(t, r.reg, "hindsight_notify_pending_wait_seconds_total"); secs <= 0 {
		t.Errorf("hindsight_notify_pending_wait_seconds_total = %v after reading waited at --notify-max-pending, want more than 0", secs)
	}
}
