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
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestMutedResolveOfAFiringGivenUpIsMuted: f1's firing, not muted, is under way to ops
// (held) as its resolve, recorded muted by live, is read: the resolve follows the
// firing, judged once the firing's delivery is over. The firing is given up (500, one
// attempt), so the resolve goes as one whose firing is not remembered, and its record
// mutes it: ops must not get it. No mute is in force, so only the record's own muted
// says so (Stage.now). Found by a mutation hunt: that check as 'if false' passed every
// test, and the resolve was sent.
func TestMutedResolveOfAFiringGivenUpIsMuted(t *testing.T) {
	t.Parallel()
	group := "notify-muted-resolve-given-up"
	g := startGivenUpOps(t, group)
	b, st, rig, free, received := g.b, g.st, g.rig, g.free, g.received

	b.Produce(t, rig.alert("f1", "c-1", "r", contract.StatusFiring, false, "ops"))
	poll.Until(t, 10*time.Second, "f1's firing under way to ops", func() bool { return len(received()) == 1 })
	b.Produce(t, rig.alert("f1", "c-1", "r", contract.StatusResolved, true, "ops"))
	poll.Until(t, 10*time.Second, "f1's resolve read", func() bool { return len(st.Recent()) == 2 })
	free()
	poll.Until(t, 15*time.Second, "both handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 2 })

	if keys := received(); len(keys) != 1 {
		t.Errorf("ops got %q; want f1's firing only: its resolve, recorded muted, follows a firing given up", keys)
	}
	var state string
	for _, d := range st.Recent() {
		if d.Alert.Status == contract.StatusResolved && len(d.Destinations) == 1 {
			state = d.Destinations[0].State
		}
	}
	if state != contract.DeliveryMuted {
		t.Errorf("f1's resolve to ops is %q; want %q", state, contract.DeliveryMuted)
	}
}

// givenUpOps is a member of group whose destination ops (scope *) holds its first
// request until free is called, then answers it 500: with one attempt, that firing is
// given up. received lists the idempotency keys ops got.
type givenUpOps struct {
	b        *kafkatest.Broker
	st       *notify.Stage
	rig      *readingWaitsRig
	free     func()
	received func() []string
}

func startGivenUpOps(t *testing.T, group string) givenUpOps {
	t.Helper()
	b := startBroker(t)
	var mu sync.Mutex
	var got []string
	release := make(chan struct{})
	ops := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get(notify.HeaderIdempotencyKey))
		first := len(got) == 1
		mu.Unlock()
		if !first {
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusInternalServerError)
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
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: ops.URL + "/hook"}))...)
	st, _ := startMember(t, notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender:         notify.SenderConfig{Timeout: 30 * time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	poll.Until(t, 10*time.Second, "ops folded", func() bool { _, ok := st.Registry().Destination("c-1", "ops"); return ok })
	return givenUpOps{b: b, st: st, rig: &readingWaitsRig{b: b, st: st}, free: free, received: received}
}
