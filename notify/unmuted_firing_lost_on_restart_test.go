package notify_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestUnmutedFiringInFlightAtStopIsLost: a firing read under a mute is sent when the
// mute is deleted (docs/notifications.md). Its receiver is down then (it holds the
// request); the notify stage is stopped (a deploy) while that delivery is in flight,
// and started again once the receiver is back. The firing's record was committed as
// handled (muted), and its delivery, neither delivered nor given up, is dropped by the
// stop (stage.go deliver: "Stopping: ... delivered next run"), while the next run
// reads it as muted and sends nothing: the alert ends neither delivered nor on the
// undelivered topic. A later alert to the same destination is delivered, so the
// receiver and the restarted stage work.
func TestUnmutedFiringInFlightAtStopIsLost(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	var up atomic.Bool
	hook := newSink(t, func(_ int, _ http.ResponseWriter, r *http.Request) bool {
		if up.Load() {
			return true
		}
		<-r.Context().Done() // down: holds the request until its sender goes
		return false
	})
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops"}))...)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-unmuted-restart",
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	st, stop := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	firing := alertFor("f1", "c-1", []string{"ops"})
	firing.Muted = true
	fv, _ := json.Marshal(firing)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
	poll.Until(t, 10*time.Second, "the muted firing handled", func() bool { return b.GroupCommitted(t, "notify-unmuted-restart", "alerts") == 1 })

	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "maint"}))...)
	poll.Until(t, 10*time.Second, "the firing sent as its mute ended, held by the receiver", func() bool { return hook.requests() == 1 })
	stop() // a deploy, with the delivery in flight

	up.Store(true)
	startMember(t, cfg)
	later := alertFor("a2", "c-1", []string{"ops"})
	lv, _ := json.Marshal(later)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: lv})
	poll.Until(t, 10*time.Second, "the later alert delivered by the restarted stage", func() bool {
		return slices.Contains(hook.delivered(), "a2:firing")
	})
	poll.Until(t, 10*time.Second, "the firing f1, sent as its mute ended and in flight when the stage stopped, delivered or on the undelivered topic", func() bool {
		return slices.Contains(hook.delivered(), "f1:firing") || b.TopicRecords(t, "alerts.undelivered") > 0
	})
}
