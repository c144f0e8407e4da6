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
)

// TestRememberForNotReachedByAFiringForgottenAtTheBound: after a restart whose
// look-back (1h) left out older alerts, the stage reads a firing written now whose
// window began 3h ago (a mute of its customer written 2h ago, ended 50m ago: not
// muted, delivered), then a second firing that makes it forget the first at
// --notify-max-open-firings 1. The first's resolve is not remembered: that is the
// open-firings limit, counted once. The stage read that firing itself, after the
// look-back, so no longer look-back would change anything; judged by its window's
// start against the look-back, with that mute covering the alert then, it counted
// notify_remember_for_seconds too and advised raising --notify-remember-for.
func TestRememberForNotReachedByAFiringForgottenAtTheBound(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	now := time.Now()
	produceOpsAndEndedMute(t, b, hook.srv.URL, now)
	const group = "notify-remember-for-forgotten-at-the-bound"
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	// An alert of another customer before the look-back, committed by a first run: the
	// partition's alerts go further back than the restarted stage's look-back.
	_, stop := startMember(t, cfg)
	ov, _ := json.Marshal(windowedAlert("other", "c-2", now.Add(-2*time.Hour)))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: ov, Timestamp: now.Add(-2 * time.Hour)})
	poll.Until(t, 10*time.Second, "the earlier alert committed", func() bool {
		return b.GroupCommitted(t, group, "alerts") == 1
	})
	stop()

	reg := prometheus.NewRegistry()
	cfg.RememberFor, cfg.Registerer, cfg.MaxOpenFirings = time.Hour, reg, 1
	st, _ := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the ended mute folded by the restarted stage", func() bool {
		return st.Registry().EndedCovering("r", "c-1", now.Add(-time.Hour), time.Now()) != nil
	})
	began := now.Add(-3 * time.Hour)
	for _, id := range []string{"long", "longer"} {
		v, _ := json.Marshal(windowedAlert(id, "c-1", began))
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	poll.Until(t, 10*time.Second, "the firings delivered, unmuted", func() bool {
		got := hook.delivered()
		return slices.Contains(got, "long:firing") && slices.Contains(got, "longer:firing")
	})
	res := windowedAlert("long", "c-1", began)
	res.Status = contract.StatusResolved
	rv, _ := json.Marshal(res)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 10*time.Second, "the resolve delivered", func() bool {
		return slices.Contains(hook.delivered(), "long:resolved")
	})
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitMaxOpenFirings); n != 1 {
		t.Errorf("notify_max_open_firings reached %v times, want 1 (the first firing forgotten for the second)", n)
	}
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 0 {
		t.Errorf("notify_remember_for_seconds reached %v times, want 0: the firing forgotten at the bound was read after the look-back, by this stage", n)
	}
}
