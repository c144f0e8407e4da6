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
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRememberForNotReachedByAFiringReadAgain: a firing whose window began 3h ago but
// written 30m ago, within the 1h look-back, after a mute of its customer (written 2h
// ago) had ended 50m ago: not muted, delivered. The restarted stage reads it again
// (not remembered: not muted), and its resolve is sent as it would be with any
// look-back. Judged by its window's start (an event's time, not its record's) against
// the look-back's start (a record time), with that mute covering the alert then, it
// counted notify_remember_for_seconds.
func TestRememberForNotReachedByAFiringReadAgain(t *testing.T) {
	t.Parallel()
	reg := rememberForReadAgain(t, 0, "long")
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 0 {
		t.Errorf("notify_remember_for_seconds reached %v times, want 0: the firing, written within the look-back, was read again", n)
	}
}

// TestFiringsReadAgainBoundedByMaxOpenFirings: the firings read again whose windows
// began before the look-back, noted so that their resolves are not taken for ones it
// left out, are bounded by --notify-max-open-firings: past it one is not noted,
// counted as notify_max_open_firings reached, and its resolve counts
// notify_remember_for_seconds as before.
func TestFiringsReadAgainBoundedByMaxOpenFirings(t *testing.T) {
	t.Parallel()
	reg := rememberForReadAgain(t, 1, "long", "longer")
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitMaxOpenFirings); n != 1 {
		t.Errorf("notify_max_open_firings reached %v times, want 1 (the second firing read again not noted)", n)
	}
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 1 {
		t.Errorf("notify_remember_for_seconds reached %v times, want 1 (the resolve of the firing not noted)", n)
	}
}

// rememberForReadAgain runs the scenario of TestRememberForNotReachedByAFiringReadAgain
// for firings ids, the restarted stage remembering maxOpen firings (0: the default),
// and returns the restarted stage's metrics once every resolve is delivered.
func rememberForReadAgain(t *testing.T, maxOpen int, ids ...string) *prometheus.Registry {
	t.Helper()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	now := time.Now()
	produceOpsAndEndedMute(t, b, hook.srv.URL, now)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-remember-for-read-again",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	st, stop := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the ended mute folded", func() bool {
		return st.Registry().EndedCovering("r", "c-1", now.Add(-time.Hour), time.Now()) != nil
	})
	// An alert of another customer before the look-back: the partition's alerts go
	// further back than it.
	ov, _ := json.Marshal(windowedAlert("other", "c-2", now.Add(-2*time.Hour)))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: ov, Timestamp: now.Add(-2 * time.Hour)})
	began := now.Add(-3 * time.Hour)
	for _, id := range ids {
		v, _ := json.Marshal(windowedAlert(id, "c-1", began))
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v, Timestamp: now.Add(-30 * time.Minute)})
	}
	poll.Until(t, 10*time.Second, "the firings delivered, unmuted", func() bool {
		got := hook.delivered()
		return !slices.ContainsFunc(ids, func(id string) bool { return !slices.Contains(got, id+":firing") })
	})
	poll.Until(t, 10*time.Second, "every alert committed", func() bool {
		return b.GroupCommitted(t, "notify-remember-for-read-again", "alerts") == int64(1+len(ids))
	})
	stop()

	reg := prometheus.NewRegistry()
	cfg.RememberFor, cfg.Registerer, cfg.MaxOpenFirings = time.Hour, reg, maxOpen
	st2, _ := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the ended mute folded by the restarted stage", func() bool {
		return st2.Registry().EndedCovering("r", "c-1", now.Add(-time.Hour), time.Now()) != nil
	})
	for _, id := range ids {
		res := windowedAlert(id, "c-1", began)
		res.Status = contract.StatusResolved
		rv, _ := json.Marshal(res)
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	}
	poll.Until(t, 10*time.Second, "the resolves delivered by the restarted stage", func() bool {
		got := hook.delivered()
		return !slices.ContainsFunc(ids, func(id string) bool { return !slices.Contains(got, id+":resolved") })
	})
	return reg
}

// produceOpsAndEndedMute writes destination ops (a webhook to hookURL) and a mute of
// c-1's alerts written 2h before now and ended 50m before it: a mute that covered an
// incident begun before a 1h look-back and has ended since, the case in which a
// resolve not remembered may count notify_remember_for_seconds.
func produceOpsAndEndedMute(t *testing.T, b *kafkatest.Broker, hookURL string, now time.Time) {
	t.Helper()
	recs := controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hookURL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "earlier", Rule: "*", Until: now.Add(-50 * time.Minute).UTC(), Reason: "deploy", By: "ops"}))
	recs[1].Timestamp = now.Add(-2 * time.Hour)
	b.Produce(t, recs...)
}
