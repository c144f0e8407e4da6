package notify_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
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

// TestRereadFromTheLogStartLeavesNothingOut: a restarted stage whose partition's first
// alert (offset 0, the log's start) lies within its look-back reads the partition again
// from that start: nothing is left out. A resolve read later of an incident begun
// before the look-back, under a mute since ended, is sent and is not the look-back's
// limit reached: the reading again missed no firing of it. Taking a log start equal to
// the reading's start for alerts cut by the look-back would count
// notify_remember_for_seconds and advise raising --notify-remember-for in vain, and no
// test held it.
func TestRereadFromTheLogStartLeavesNothingOut(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	now := time.Now()
	produceOpsAndEndedMute(t, b, hook.srv.URL, now)
	const group = "notify-reread-from-log-start"
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	// The partition's one alert, written now, committed by a first run.
	_, stop := startMember(t, cfg)
	b.Produce(t, alertRecords("now", 1)...)
	poll.Until(t, 10*time.Second, "the first alert committed", func() bool { return b.GroupCommitted(t, group, "alerts") == 1 })
	stop()

	reg := prometheus.NewRegistry()
	cfg.RememberFor, cfg.Registerer = time.Hour, reg
	st, _ := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the ended mute folded by the restarted stage", func() bool {
		return st.Registry().EndedCovering("r", "c-1", now.Add(-time.Hour), time.Now()) != nil
	})
	res := windowedAlert("long", "c-1", now.Add(-3*time.Hour))
	res.Status = contract.StatusResolved
	rv, _ := json.Marshal(res)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 10*time.Second, "the resolve delivered", func() bool { return slices.Contains(hook.delivered(), "long:resolved") })
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 0 {
		t.Errorf("notify_remember_for_seconds reached %v times, want 0: the partition was read again from its log's start, nothing left out", n)
	}
}

// TestRereadOfAnEmptyRangeReadsNothing: a restarted stage whose partition's alerts up
// to its committed offset all lie before its look-back has nothing to read again:
// nothing is, and no reading again is logged; the later alert is read by the stage
// alone. Reading that empty range from the committed offset would wait there for a
// record past it (none may come for long), the stage fetching the partition only once
// one came, and no test held it.
func TestRereadOfAnEmptyRangeReadsNothing(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	const group = "notify-reread-empty-range"
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	_, stop := startMember(t, cfg)
	old := alertRecords("old", 1)
	old[0].Timestamp = time.Now().Add(-2 * time.Hour)
	b.Produce(t, old...)
	poll.Until(t, 10*time.Second, "the old alert committed", func() bool { return b.GroupCommitted(t, group, "alerts") == 1 })
	stop()

	logs := &lockedLog{}
	cfg.RememberFor = time.Hour
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the restarted stage's log:\n%s", logs.String())
		}
	})
	startMember(t, cfg)
	b.Produce(t, alertRecords("later", 1)...)
	poll.Until(t, 10*time.Second, "the later alert committed", func() bool { return b.GroupCommitted(t, group, "alerts") == 2 })
	if got := logs.String(); strings.Contains(got, "remembered again from the alerts before the committed offsets") {
		t.Errorf("the restarted stage read its partition again from its committed offset 1, though every alert before it is older than the look-back")
	}
}
