package notify_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// deliveryState is the state of alert id's delivery to name in st.Recent.
func deliveryState(st *notify.Stage, id, name string) (contract.DestinationState, bool) {
	for _, d := range st.Recent() {
		if d.Alert.AlertID != id {
			continue
		}
		for _, ds := range d.Destinations {
			if ds.Name == name {
				return ds, true
			}
		}
	}
	return contract.DestinationState{}, false
}

// TestRecordNamingADestinationManyTimes: live never writes an alert naming a
// destination twice, nor more than max_rule_notify (8) names (rule validation:
// "alert.notify[i]: %q is named twice"). The stage took whatever the alerts topic holds
// (checkAlert checked only that each name is a name): one record naming "hook" 20 times
// was 20 deliveries of the same alert to the same receiver, which filled hook's queue,
// so that the next, well-formed alert for hook was recorded undelivered "destination
// queue full" and never sent. A record live could not have written is skipped (as one
// naming no destination name is, hindsight_notify_skipped_total): no request for it,
// and the next alert delivered.
func TestRecordNamingADestinationManyTimes(t *testing.T) {
	t.Parallel() // a broker and stage of its own
	b := startBroker(t)
	rc := newSink(t, func(int, http.ResponseWriter, *http.Request) bool {
		time.Sleep(50 * time.Millisecond)
		return true
	})
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hook", Type: rule.DestWebhook,
		URL: rc.srv.URL + "/hook"}))...)
	names := make([]string, 20)
	for i := range names {
		names[i] = "hook"
	}
	odd := alertFor("odd", "c-1", names)
	good := alertFor("good", "c-1", []string{"hook"})
	var recs []*kgo.Record
	for _, a := range []contract.Alert{odd, good} {
		v, _ := json.Marshal(a)
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	b.Produce(t, recs...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-dup-names",
		Sender:    notify.SenderConfig{Timeout: time.Second, MaxAttempts: 1, AllowPrivate: true},
		QueueSize: 5, Concurrency: 1, CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)

	deadline := time.Now().Add(20 * time.Second)
	var ds contract.DestinationState
	for time.Now().Before(deadline) {
		var ok bool
		if ds, ok = deliveryState(st, "good", "hook"); ok && (ds.State == contract.DeliveryDelivered || ds.State == contract.DeliveryUndelivered) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Let the odd record's deliveries run out.
	time.Sleep(time.Second)
	rc.mu.Lock()
	oddRequests := rc.keys[notify.IdempotencyKey(&odd)]
	rc.mu.Unlock()
	if ds.State != contract.DeliveryDelivered {
		t.Errorf("the well-formed alert after a record naming hook 20 times: %q, reason %q; want delivered", ds.State, ds.Reason)
	}
	if oddRequests > 1 {
		t.Errorf("the record naming hook 20 times made %d requests of the same alert (same Idempotency-Key) to hook; want at most 1", oddRequests)
	}
}

// TestRecordsThatAreNoAlertsAreSkipped: an alerts record that is not an alert is
// "skipped", warned about and counted in hindsight_notify_skipped_total (handle: "Not
// an alert this build wrote"). The JSON null and an empty object decode without error
// into a zero Alert (no id, no rule, no customer, no status), passed checkAlert, and
// were counted as alerts read and listed in the console's deliveries as alerts with no
// id, unsaid. Each is skipped as not an alert.
func TestRecordsThatAreNoAlertsAreSkipped(t *testing.T) {
	b := startBroker(t)
	var recs []*kgo.Record
	for _, v := range []string{`null`, `{}`, `{"x": 1}`} {
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: []byte(v)})
	}
	good := alertFor("good", "c-1", nil)
	v, _ := json.Marshal(good)
	recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	b.Produce(t, recs...)
	reg := prometheus.NewRegistry()
	st := oneAttemptStage(t, b, "notify-not-alerts", reg)
	runStage(t, st)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && b.GroupCommitted(t, "notify-not-alerts", "alerts") < int64(len(recs)) {
		time.Sleep(50 * time.Millisecond)
	}
	skipped := promtest.Sum(t, reg, "hindsight_notify_skipped_total")
	alerts := promtest.Sum(t, reg, "hindsight_notify_alerts_total")
	var listed []string
	for _, d := range st.Recent() {
		listed = append(listed, fmt.Sprintf("%q", d.Alert.AlertID))
	}
	if skipped != 3 || alerts != 1 {
		t.Errorf("records null, {} and {\"x\": 1} and one alert: skipped %v, alerts read %v, deliveries listed %v; want 3 skipped, 1 alert",
			skipped, alerts, listed)
	}
}
