package notify_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRememberForBoundsTheReread: a restarted stage reads its partition's alerts again
// only from --notify-remember-for before now: a muted firing raised within it is
// remembered and sent when its mute is deleted, one raised before it is not (judged as
// one not read), and the partition, whose alerts go further back, is counted as the
// limit reached.
func TestRememberForBoundsTheReread(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops"}))...)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-remember-for",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	st, stop := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	// One produce each: a batch is found by its newest record's time.
	for _, f := range []struct {
		id string
		at time.Time
	}{{"old", time.Now().Add(-2 * time.Hour)}, {"new", time.Now()}} {
		a := alertFor(f.id, "c-1", []string{"ops"})
		a.Muted = true
		v, _ := json.Marshal(a)
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v, Timestamp: f.at})
	}
	poll.Until(t, 10*time.Second, "both muted firings handled", func() bool { return b.GroupCommitted(t, "notify-remember-for", "alerts") == 2 })
	stop()

	reg := prometheus.NewRegistry()
	cfg.RememberFor, cfg.Registerer = time.Hour, reg
	st2, _ := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the mute folded by the restarted stage", func() bool { return st2.Registry().Muted("r", "c-1", time.Now()) != nil })
	// The partition is fetched only once it has been read again: a later alert, of a
	// customer no mute covers, delivered says it was.
	lv, _ := json.Marshal(alertFor("a2", "c-2", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: lv})
	poll.Until(t, 10*time.Second, "a later alert delivered by the restarted stage", func() bool {
		return slices.Contains(hook.delivered(), "a2:firing")
	})
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 1 {
		t.Errorf("notify_remember_for_seconds reached %v times, want 1 (the partition's alerts go back 2h)", n)
	}
	if n := promtest.Value(t, reg, "hindsight_limit", "name", notify.LimitRememberFor); n != 3600 {
		t.Errorf("hindsight_limit{name=%q} is %v, want 3600", notify.LimitRememberFor, n)
	}
	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "maint"}))...)
	poll.Until(t, 10*time.Second, "the firing within the look-back sent as its mute ended", func() bool {
		return slices.Contains(hook.delivered(), "new:firing")
	})
	if got := hook.delivered(); slices.Contains(got, "old:firing") {
		t.Errorf("the firing raised before the look-back was remembered and sent (receiver: %v)", got)
	}
}
