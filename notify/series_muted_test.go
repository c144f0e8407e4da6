package notify_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDeletedDestinationsMutedSeriesGo: destinations are made and deleted (one per
// customer, by a script); each received only muted alerts, so none ever got a queue.
// Once deleted, their hindsight_notify_deliveries_total{destination,outcome="muted"}
// series must go like a delivered-to destination's (TestStageStopsDeletedDestinationsWorkers),
// or /metrics grows with every destination name ever muted.
func TestDeletedDestinationsMutedSeriesGo(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, ok200)
	st, reg := reapingStage(t, b, "notify-muted-series")
	const n = 5
	for i := range n {
		name := fmt.Sprintf("team-%d", i)
		b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: name, Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
		poll.Until(t, 10*time.Second, name+" defined", func() bool {
			_, ok := st.Registry().Destination("c-1", name)
			return ok
		})
		a := alertFor(fmt.Sprintf("%032x", i+1), "c-1", []string{name})
		a.Muted = true
		v, _ := json.Marshal(a)
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
		poll.Until(t, 10*time.Second, name+"'s muted alert counted", func() bool {
			return promtest.Value(t, reg, "hindsight_notify_deliveries_total", "destination", name) == 1
		})
		b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindDestination, rule.Key{Scope: "*", ID: name}))...)
		poll.Until(t, 10*time.Second, name+" deleted", func() bool {
			_, ok := st.Registry().Destination("c-1", name)
			return !ok
		})
	}
	// reapQueues runs every commit interval (50 ms).
	poll.Until(t, 30*time.Second, "the deleted destinations' series gone", func() bool {
		for i := range n {
			if promtest.Value(t, reg, "hindsight_notify_deliveries_total", "destination", fmt.Sprintf("team-%d", i)) != -1 {
				return false
			}
		}
		return true
	})
}
