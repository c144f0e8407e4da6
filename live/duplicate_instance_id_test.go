package live_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestDuplicateInstanceIDIsVisible: two live daemons are started, by mistake, with one
// --instance-id in one group. The broker fences the first when the second joins with
// its id; from then on every join of the first is refused (FENCED_INSTANCE_ID). That
// is a configuration error no retry repairs, so it must be said: the fenced daemon
// stops with an error naming it, or at least its /readyz reasons (or /metrics) say it
// was fenced by another member with its instance id, rather than a rebalance.
func TestDuplicateInstanceIDIsVisible(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { duplicateInstanceID(t, seed) })
	}
}

func duplicateInstanceID(t *testing.T, seed uint64) {
	const partitions, customers = 3, 5
	b := kafkatest.Start(t, kafkatest.Options{Partitions: partitions, MinSessionTimeout: 500 * time.Millisecond})
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"ok","scope":"*","when":{"path":"$.type","op":"==","value":"login.succeeded"},"threshold":20}`)))
	lake := "file://" + t.TempDir()
	group := livetest.Group(t)
	start := func() *live.Daemon {
		d, _ := livetest.StartLive(t, b, func(c *live.Config) {
			c.Group, c.LakeURL = group, lake
			c.InstanceID = "dup"
			c.ShutdownTimeout = 5 * time.Second
			c.SnapshotInterval = 200 * time.Millisecond
			c.SessionTimeout = time.Second
		})
		return d
	}
	gen := workload.New(seed, workload.Config{Customers: customers, Step: time.Second})
	first := start()
	poll.Until(t, wait, "the first member to own every partition", func() bool { return len(first.Partitions()) == partitions })
	livetest.ProduceEvents(t, b, gen, 100)
	poll.Until(t, wait, "the first member to handle events", func() bool { return first.EventsSeen() > 0 })
	second := start()
	poll.Until(t, wait, "the second member (same instance id) to take every partition", func() bool {
		return len(second.Partitions()) == partitions && len(first.Partitions()) == 0
	})
	// The first keeps trying to join and is refused each time: a few of its attempts.
	for range 4 {
		livetest.ProduceEvents(t, b, gen, 30)
		time.Sleep(300 * time.Millisecond)
	}
	select {
	case <-first.Done():
		err := first.Wait()
		if err == nil || !strings.Contains(err.Error(), "dup") {
			t.Errorf("the fenced member stopped with %v, want an error naming instance id dup", err)
		}
		return
	default:
	}
	resp, body := livetest.Request(t, "GET", "http://"+first.HTTPAddr()+"/readyz", nil, nil)
	metrics := strings.ToLower(livetest.GetText(t, "http://"+first.HTTPAddr()+"/metrics"))
	said := strings.Contains(strings.ToLower(string(body)), "fenced") || strings.Contains(strings.ToLower(string(body)), "instance")
	for _, l := range strings.Split(metrics, "\n") {
		if !strings.HasPrefix(l, "#") && strings.Contains(l, "fenced") {
			said = true
		}
	}
	if !said {
		t.Errorf("the member fenced by another with --instance-id dup runs on, owning nothing, and says nothing of it: /readyz %d %s; no fenced series in /metrics", resp.StatusCode, body)
	}
}
