package notify_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestOwedFiringNotSentWhileItsDeliveryIsUnderWay: f1's firing is read under a mute
// (muted, the mute seen), its mute is deleted, and the same firing's record is read
// again, now unmuted: its delivery to ops goes out and ops holds it. The check for
// ended mutes must not send f1's firing as owed meanwhile (owedLocked: no delivery of
// it under way), or ops gets the firing twice, the held delivery and the owed one
// queued behind it. Found by a mutation hunt: owedLocked's 'd.jobs == 0' as
// 'd.jobs <= 1' passed every test.
func TestOwedFiringNotSentWhileItsDeliveryIsUnderWay(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out checks for ended mutes: make test runs it")
	}
	group := "notify-owed-under-way"
	b := startBroker(t)
	var mu sync.Mutex
	var got []string
	release := make(chan struct{})
	ops := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get(notify.HeaderIdempotencyKey))
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(ops.Close)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // before ops.Close, which waits for held requests
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	slowURL, freeSlow := slowReceiver(t)
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: ops.URL + "/hook"}),
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "slow", Type: rule.DestWebhook, URL: slowURL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "*", ID: "maint", Rule: "r", Reason: "maintenance", By: "ops"}))...)
	st, _ := startMember(t, notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group, MaxPending: 1,
		Sender:         notify.SenderConfig{Timeout: 30 * time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	rig := &readingWaitsRig{b: b, st: st}

	// f1 read muted (its record says so, the mute covering its time: seen); a0's
	// delivery held by slow keeps the reading waiting (one pending) before f1's record
	// again, unmuted, so that it is read only after the delete.
	b.Produce(t,
		rig.alert("f1", "c-1", "r", contract.StatusFiring, true, "ops"),
		rig.alert("a0", "c-3", "r2", contract.StatusFiring, false, "slow"),
		rig.alert("f1", "c-1", "r", contract.StatusFiring, false, "ops"))
	rig.deleteMuteAfter(t, time.Now())
	freeSlow()
	poll.Until(t, 15*time.Second, "f1's firing, read again, under way to ops", func() bool { return len(received()) == 1 })
	ticks := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "checks for ended mutes run with f1's delivery held", func() bool { return st.UnmuteChecks() >= ticks+3 })
	free()
	poll.Until(t, 15*time.Second, "the alerts handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 3 })
	ticks = st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "checks for ended mutes run after the delivery", func() bool { return st.UnmuteChecks() >= ticks+2 })
	if keys := received(); len(keys) != 1 {
		t.Errorf("ops got %q; want f1's firing once: its delivery under way as the mute's end was checked, it was owed nothing more", keys)
	}
}
