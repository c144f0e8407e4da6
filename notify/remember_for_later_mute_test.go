package notify_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRememberForNotReachedByAMuteWrittenAfterTheLookBack: a firing older than
// --notify-remember-for, not muted, delivered; then a brief mute of its customer,
// written after the look-back's start and ended before the restart. Its resolve, read
// by the restarted stage, went out as it would have with any look-back: reading the
// alerts again remembers muted firings only, and this one was never muted (the mute
// was written hours after it). notify_remember_for_seconds is not reached, nor its
// warning ("raise --notify-remember-for") logged.
func TestRememberForNotReachedByAMuteWrittenAfterTheLookBack(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-remember-for-later-mute",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	st, stop := startMember(t, cfg)
	old := time.Now().Add(-3 * time.Hour)
	v, _ := json.Marshal(windowedAlert("open", "c-1", old))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v, Timestamp: old})
	poll.Until(t, 10*time.Second, "the old firing delivered, unmuted", func() bool {
		return slices.Contains(hook.delivered(), "open:firing")
	})
	poll.Until(t, 10*time.Second, "the old firing committed", func() bool { return b.GroupCommitted(t, "notify-remember-for-later-mute", "alerts") == 1 })
	// Written now, hours after the firing and after the look-back's start; ended before
	// the resolve is read.
	until := time.Now().Add(300 * time.Millisecond)
	b.Produce(t, controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "brief", Rule: "*", Until: until, Reason: "deploy", By: "ops"}))...)
	poll.Until(t, 10*time.Second, "the brief mute folded and over", func() bool {
		return time.Now().After(until) && st.Registry().EndedCovering("r", "c-1", old, time.Now()) != nil
	})
	stop()

	reg := prometheus.NewRegistry()
	cfg.RememberFor, cfg.Registerer = time.Hour, reg
	st2, _ := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the brief mute folded by the restarted stage", func() bool {
		return st2.Registry().EndedCovering("r", "c-1", old, time.Now()) != nil
	})
	res := windowedAlert("open", "c-1", old)
	res.Status = contract.StatusResolved
	rv, _ := json.Marshal(res)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 10*time.Second, "the old incident's resolve delivered by the restarted stage", func() bool {
		return slices.Contains(hook.delivered(), "open:resolved")
	})
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 0 {
		t.Errorf("notify_remember_for_seconds reached %v times, want 0: the firing was never muted (the mute was written hours after it), so no look-back would have read it again", n)
	}
}
