package notify_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestResolveFollowsTheTargetItsFiringsRetryReached: a firing's first attempt fails at
// its destination's old URL, the destination is changed meanwhile, and the retry
// delivers the firing at the new URL. Its resolve follows the firing: to the target
// the firing was delivered to (docs/architecture.md, notify: "the Target (scope, URL,
// key) it was delivered to"), the new URL, not the one the first attempt went to. The
// old receiver holds its first request until the change is folded, so that the retry
// comes after it whatever the timing.
func TestResolveFollowsTheTargetItsFiringsRetryReached(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	release := make(chan struct{})
	old := newSink(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 0 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return fail(true, w, http.StatusInternalServerError)
		}
		return true
	})
	fresh := newSink(t, ok200)
	dest := func(url string) *rule.Control {
		return rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: url})
	}
	b.Produce(t, controlRecords(t, dest(old.srv.URL+"/hook"))...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-resolve-retry-target",
		Sender: notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 3, MaxElapsed: 2 * time.Minute,
			InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	produce := func(status string) {
		t.Helper()
		a := alertFor("a0", "c-1", []string{"ops"})
		a.Status = status
		v, _ := json.Marshal(a)
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	produce(contract.StatusFiring)
	poll.Until(t, 10*time.Second, "the firing's first attempt held at the old URL", func() bool { return old.requests() == 1 })
	b.Produce(t, controlRecords(t, dest(fresh.srv.URL+"/hook"))...)
	poll.Until(t, 10*time.Second, "the new URL folded", func() bool {
		d, ok := st.Registry().Destination("c-1", "ops")
		return ok && d.URL == fresh.srv.URL+"/hook"
	})
	close(release)
	poll.Until(t, 10*time.Second, "the firing's retry delivered at the new URL", func() bool {
		return slices.Contains(fresh.delivered(), "a0:firing")
	})

	produce(contract.StatusResolved)
	poll.Until(t, 10*time.Second, "the resolve delivered", func() bool {
		return slices.Contains(fresh.delivered(), "a0:resolved") || slices.Contains(old.delivered(), "a0:resolved")
	})
	if got := fresh.delivered(); !slices.Equal(got, []string{"a0:firing", "a0:resolved"}) {
		t.Errorf("the new URL, where the firing was delivered, got %v; want [a0:firing a0:resolved]", got)
	}
	if n := old.requests(); n != 1 {
		t.Errorf("the old URL got %d requests (delivered there: %v), want only the firing's first attempt", n, old.delivered())
	}
}
