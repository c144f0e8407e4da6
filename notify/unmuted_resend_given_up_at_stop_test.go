package notify_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestUnmutedResendGivenUpAtStopIsRecordedOnceAsStopped: a muted firing sent as its mute
// ended fails every attempt, and its undelivered record is refused by the topic until
// the stage stops. The write cut short by the stop leaves the re-send to the stop
// (unsentMoved does nothing while the stage is stopping), which records it, saying the
// stop cut it short. Without unsentMoved's stopping check, the worker recorded it as
// moved to another member ("its partition was reassigned"), which no member was, and no
// test noticed.
func TestUnmutedResendGivenUpAtStopIsRecordedOnceAsStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("re-send given up at stop: make test runs it")
	}
	t.Parallel()
	installed := make(chan struct{})
	_, b, _, stop := unmutedResendRig(t, "notify-resend-given-up-stop", func(r *http.Request) bool {
		select {
		case <-installed:
		case <-r.Context().Done():
		}
		panic(http.ErrAbortHandler) // the connection drops: retried, then given up
	})
	var (
		mu       sync.Mutex
		refused  int
		stopping bool
		extra    = 1
	)
	// Refused until the stop, and once past it: a write of the given-up record already
	// on its way as the stop began is refused too, so that only a write made after it
	// lands.
	b.RefuseProduces(t, "alerts.undelivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		if !stopping {
			refused++
			return true
		}
		if extra > 0 {
			extra--
			return true
		}
		return false
	})
	close(installed)
	poll.Until(t, 30*time.Second, "f1's undelivered record refused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return refused > 0
	})
	mu.Lock()
	stopping = true
	mu.Unlock()
	stop()
	recs := b.Consume(t, "alerts.undelivered", 1, 15*time.Second)
	if len(recs) != 1 {
		t.Fatalf("alerts.undelivered holds %d records after the stop, want 1", len(recs))
	}
	var u contract.Undelivered
	if err := json.Unmarshal(recs[0].Value, &u); err != nil {
		t.Fatal(err)
	}
	if u.Alert.AlertID != "f1" || u.Destination != "ops" || u.Attempts != 3 ||
		u.Reason != "stopped before it was sent (sent as its mute ended: its record was handled as muted, so no restart sends it)" {
		t.Errorf("undelivered record: alert %s, destination %s, attempts %d, reason %q; want f1, ops, 3 attempts, stopped before it was sent",
			u.Alert.AlertID, u.Destination, u.Attempts, u.Reason)
	}
	if n := b.TopicRecords(t, "alerts.undelivered"); n != 1 {
		t.Errorf("alerts.undelivered holds %d records, want 1", n)
	}
}
