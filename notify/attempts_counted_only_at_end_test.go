package notify_test

import (
	"encoding/json"
	"net/http"
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

// TestAttemptsCountedAsTheyAreMade: hindsight_notify_attempts_total is "HTTP requests
// made, retries included, by destination". A receiver that fails two requests (500)
// and holds the third is retried as documented; once it has seen three requests of the
// delivery still in flight, /metrics must show them. The stage adds a delivery's
// attempts only when the whole delivery ends (stage.go, after DeliverRechecking), so a
// failing destination shows no requests at all for as long as its retry budget runs
// (--notify-retry-budget; nothing ever if the process is killed meanwhile).
func TestAttemptsCountedAsTheyAreMade(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hold := holdUntil(release)
	hook := newSink(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n < 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return false
		}
		return hold(n, w, r)
	})
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-attempts-visible", Registerer: reg,
		Sender: notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 6, MaxElapsed: 10 * time.Minute,
			InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	v, _ := json.Marshal(alertFor("a0", "c-1", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	poll.Until(t, 10*time.Second, "the receiver saw 3 requests of a0", func() bool { return hook.requests() == 3 })
	// The first two failed answers are back at the sender once the third request came.
	if got := promtest.Value(t, reg, "hindsight_notify_attempts_total", "destination", "ops"); got < 2 {
		t.Errorf("hindsight_notify_attempts_total{destination=\"ops\"} = %v while the receiver has seen 3 requests (2 answered 500), want at least 2 (-1: no series)", got)
	}
}
