package notify_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestResolveFollowsItsFiringsDestination: alert x of customer c-1 fires and is paged
// through the global destination "pager" (PagerDuty service A): the incident opens
// there. The operator then gives c-1 its own "pager" (service B, c-1's team), as
// docs/notifications.md allows (a customer's destination wins over the global one).
// x resolves: its resolve went to service B, where no incident has its dedup_key, and
// service A's incident, which Hindsight opened, stayed open for ever. A resolve follows
// its firing: it reaches the destination (scope, URL and key) the firing was delivered
// to.
func TestResolveFollowsItsFiringsDestination(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	global := newPagerDuty(t, "")
	own := newPagerDuty(t, "")
	b.Produce(t, controlRecords(t, global.destination("*"))...)
	st := pagerStage(t, b, "notify-override")

	x := alertFor("inc-o1", "c-1", []string{"pager"})
	fv, _ := json.Marshal(x)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
	poll.Until(t, 10*time.Second, "the incident opened at the global service", func() bool { return len(global.opened()) == 1 })

	// c-1 gets its own "pager".
	b.Produce(t, controlRecords(t, own.destination("c-1"))...)
	poll.Until(t, 10*time.Second, "c-1's own pager folded", func() bool {
		d, ok := st.Registry().Destination("c-1", "pager")
		return ok && d.Scope == "c-1"
	})

	xr := x
	xr.Status = contract.StatusResolved
	rv, _ := json.Marshal(xr)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 10*time.Second, "both handled", func() bool { return b.GroupCommitted(t, "notify-override", "alerts") == 2 })
	if open := global.opened(); len(open) != 0 {
		t.Errorf("incident %v left open at the service that was paged (it saw %q); the resolve went to c-1's new destination, which saw %q",
			open, global.seen(), own.seen())
	}
}
