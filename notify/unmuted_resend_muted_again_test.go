package notify_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestUnmutedResendMutedAgainBeforeItsRetryIsNotSent: a muted firing sent as its mute
// ended carries its record's muted mark, yet it is to be judged against the mutes in
// force before each attempt like any alert (Stage.now: "!j.alert.Muted ||
// j.redeliver"). A mute folded while its first attempt failed mutes the retry. Without
// the re-send's term the muted mark exempted it, and the firing reached the receiver
// under the new mute; no test noticed.
func TestUnmutedResendMutedAgainBeforeItsRetryIsNotSent(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	first := make(chan struct{})
	release := make(chan struct{})
	st, b, _, stop := unmutedResendRig(t, "notify-resend-muted-again", func(r *http.Request) bool {
		if requests.Add(1) == 1 {
			close(first)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			panic(http.ErrAbortHandler) // the connection closes unanswered: a retried failure
		}
		return true
	})
	defer stop()
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("f1 was not sent as its mute ended")
	}
	b.Produce(t, controlRecords(t,
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint-2", Rule: "*", Reason: "maintenance again", By: "ops"}))...)
	poll.Until(t, 10*time.Second, "the second mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	close(release)
	// Its state read muted before it was sent; settled, it says after how many requests.
	state := func() (string, int) {
		for _, d := range st.Recent() {
			if d.Alert.AlertID == "f1" && len(d.Destinations) == 1 {
				return d.Destinations[0].State, d.Destinations[0].Attempts
			}
		}
		return "", 0
	}
	poll.Until(t, 20*time.Second, "f1 settled muted or delivered after its first attempt", func() bool {
		s, n := state()
		return (s == contract.DeliveryMuted || s == contract.DeliveryDelivered) && n > 0
	})
	if s, n := state(); s != contract.DeliveryMuted || n != 1 || requests.Load() != 1 {
		t.Errorf("f1 after a mute folded during its first attempt: state %s after %d attempts, receiver saw %d requests; want muted after 1",
			s, n, requests.Load())
	}
}
