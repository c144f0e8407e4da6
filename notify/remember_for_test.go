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

// TestRememberForBoundsTheReread: a restarted stage reads its partition's alerts again
// only from --notify-remember-for before now: a muted firing raised within it is
// remembered and sent when its mute is deleted, one raised before it is not (judged as
// one not read). The partition's alerts going further back is not the limit reached;
// the resolve of the firing left out, sent alone after its mute ended, is (once).
func TestRememberForBoundsTheReread(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	// The mute written before the firings it mutes, as it must have been: the stage's
	// look-back takes a mute written after its start for one that muted no firing older.
	recs := controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops"}))
	recs[1].Timestamp = time.Now().Add(-3 * time.Hour)
	b.Produce(t, recs...)
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
		a := windowedAlert(f.id, "c-1", f.at)
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
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 0 {
		t.Errorf("notify_remember_for_seconds reached %v times as the partition was assigned, want 0 (its alerts going back 2h changed nothing yet)", n)
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
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 0 {
		t.Errorf("notify_remember_for_seconds reached %v times before any resolve showed it, want 0", n)
	}
	// The old incident resolves now, no mute in force: its resolve goes to a receiver
	// never paged for it, the look-back having changed the answer.
	res := windowedAlert("old", "c-1", time.Now().Add(-2*time.Hour))
	res.Status = contract.StatusResolved
	rv, _ := json.Marshal(res)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 10*time.Second, "the old incident's resolve delivered", func() bool {
		return slices.Contains(hook.delivered(), "old:resolved")
	})
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 1 {
		t.Errorf("notify_remember_for_seconds reached %v times, want 1 (the resolve of a muted firing older than the look-back sent alone)", n)
	}
}

// TestRememberForNotReachedByOldAlertsAlone: a partition whose alerts go back further
// than --notify-remember-for, none a muted firing, is not the limit reached, neither
// as it is assigned nor when a firing older than the look-back, not muted, resolves:
// reading it again would have remembered nothing of it.
func TestRememberForNotReachedByOldAlertsAlone(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-remember-for-old",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	_, stop := startMember(t, cfg)
	old := time.Now().Add(-3 * time.Hour)
	for _, id := range []string{"gone", "open"} {
		v, _ := json.Marshal(windowedAlert(id, "c-1", old))
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v, Timestamp: old})
	}
	gone := windowedAlert("gone", "c-1", old)
	gone.Status = contract.StatusResolved
	gv, _ := json.Marshal(gone)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: gv, Timestamp: old.Add(time.Minute)})
	poll.Until(t, 10*time.Second, "the old alerts handled", func() bool { return b.GroupCommitted(t, "notify-remember-for-old", "alerts") == 3 })
	stop()

	reg := prometheus.NewRegistry()
	cfg.RememberFor, cfg.Registerer = time.Hour, reg
	startMember(t, cfg)
	still := windowedAlert("open", "c-1", old)
	still.Status = contract.StatusResolved
	sv, _ := json.Marshal(still)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: sv})
	poll.Until(t, 10*time.Second, "the old open incident's resolve delivered by the restarted stage", func() bool {
		return slices.Contains(hook.delivered(), "open:resolved")
	})
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 0 {
		t.Errorf("notify_remember_for_seconds reached %v times, want 0: no muted firing was left out", n)
	}
}

// windowedAlert is a firing of id for customer whose window starts at start and lasts
// a minute, as live writes an incident's firing (and, its status resolved, its resolve).
func windowedAlert(id, customer string, start time.Time) contract.Alert {
	a := alertFor(id, customer, []string{"ops"})
	ws, we := start.UTC().Truncate(time.Millisecond), start.UTC().Truncate(time.Millisecond).Add(time.Minute)
	a.WindowStart, a.WindowEnd, a.EventTime = &ws, &we, ws
	return a
}
