package notify_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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

// huntState is the state of the one delivery of alert id to "hook" in st.Recent.
func huntState(st *notify.Stage, id string) (contract.DestinationState, bool) {
	for _, d := range st.Recent() {
		if d.Alert.AlertID != id {
			continue
		}
		for _, ds := range d.Destinations {
			if ds.Name == "hook" {
				return ds, true
			}
		}
	}
	return contract.DestinationState{}, false
}

// huntSenderConfig is a fast sender: 3 attempts of at most 1 s, 10–50 ms backoff,
// loopback allowed.
func huntSenderConfig() notify.SenderConfig {
	return notify.SenderConfig{Timeout: time.Second, MaxAttempts: 3, MaxElapsed: 10 * time.Second,
		InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, AllowPrivate: true}
}

// TestHuntAlertIDThatIsNoHeaderIsFinal: an alerts record is read as it is, and its
// alert_id becomes the Idempotency-Key header. One with a control character (a line
// break) makes a request net/http refuses to send, before any byte goes out: nothing a
// retry changes. The Sender classed that error as a transient transport failure and
// made every attempt of the retry budget (6 by default, up to a minute of a worker's
// time, backoff included) before giving up, with a reason that says "after 3 attempts"
// of requests none of which was made. It is final, as a bad URL or body is
// (Outcome.Final's doc), after one try.
func TestHuntAlertIDThatIsNoHeaderIsFinal(t *testing.T) {
	rc := newSink(t, ok200)
	snd, err := notify.NewSender(huntSenderConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	a := alertFor("id\r\nX-Injected: yes", "c-1", []string{"hook"})
	out := snd.Deliver(t.Context(), notify.Target{Name: "hook", Type: notify.TypeWebhook, URL: rc.srv.URL + "/hook"}, &a)
	if out.Delivered {
		t.Fatalf("delivered an alert whose id is no header value: %+v", out)
	}
	if !out.Final || out.Attempts != 1 {
		t.Errorf("alert id with a line break: Final %v after %d attempts, reason %q; want final after 1 (no retry sends an invalid header)",
			out.Final, out.Attempts, out.Reason)
	}
	if n := rc.requests(); n != 0 {
		t.Errorf("receiver saw %d requests", n)
	}
}

// TestHuntReasonDoesNotQuoteJSONEscapedURL: docs/notifications.md promises "a
// receiver's answer quoted in a delivery's reason has the destination's URL, its path,
// its query's values and its secret taken out … in case the receiver echoes the
// request". A receiver that echoes the request in JSON written with escaped slashes
// (PHP's json_encode by default, and others) writes the path as
// \/services\/T0\/B0\/TOKEN: none of the pieces redact looks for, so a Slack webhook's
// secret path lands in the undelivered record, the logs and the console.
func TestHuntReasonDoesNotQuoteJSONEscapedURL(t *testing.T) {
	const token = "XOXBSECRETTOKEN42"
	rc := newSink(t, func(_ int, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"no route for POST ` + strings.ReplaceAll(r.URL.Path, "/", `\/`) + `"}`))
		return false
	})
	snd, err := notify.NewSender(huntSenderConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	a := alertFor("a1", "c-1", []string{"hook"})
	out := snd.Deliver(t.Context(), notify.Target{Name: "hook", Type: notify.TypeSlack,
		URL: rc.srv.URL + "/services/T0000/B0000/" + token}, &a)
	if out.Delivered || !out.Final {
		t.Fatalf("outcome %+v, want a final 404", out)
	}
	if strings.Contains(out.Reason, token) {
		t.Errorf("reason quotes the Slack webhook's secret path, echoed JSON-escaped by the receiver:\n%s", out.Reason)
	}
}

// TestHuntRecordNamingADestinationManyTimes: live never writes an alert naming a
// destination twice, nor more than max_rule_notify (8) names (rule validation:
// "alert.notify[i]: %q is named twice"). The stage takes whatever the alerts topic holds
// (checkAlert checks only that each name is a name): one record naming "hook" 20 times
// is 20 deliveries of the same alert to the same receiver, which fill hook's queue, so
// that the next, well-formed alert for hook is recorded undelivered "destination queue
// full" and never sent. A record live could not have written is to be skipped (as one
// naming no destination name is, hindsight_notify_skipped_total) or its names taken
// once: one request for it at most, and the next alert delivered.
func TestHuntRecordNamingADestinationManyTimes(t *testing.T) {
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
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "hunt-dup-names",
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
		if ds, ok = huntState(st, "good"); ok && (ds.State == contract.DeliveryDelivered || ds.State == contract.DeliveryUndelivered) {
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

// TestHuntUndeliveredRecordOfAHugeCustomerDoesNotWedgeTheWriter: --max-customer-bytes
// has no upper bound, and an alert of a customer id of 600 KB fits --alert-max-bytes:
// live produces it. Given up on (here: its destination does not exist), its undelivered
// record has the customer as its key and again in its value, 1.2 MB, over what the
// client takes; cutUndelivered can leave out only context and group values, so the
// record is "as small as it gets" and writeUndelivered tries it again for ever (no
// MaxElapsedTime). The stage's one undelivered writer is held by it: every later give-up
// as alerts are read (no destination, a full queue), of every customer and partition,
// waits behind it, never recorded, their offsets never committed. The record must be
// made to fit (its key cut, as a dead letter's is, or the alert's customer), or the
// failure end that alert alone; the alerts after it are recorded undelivered.
func TestHuntUndeliveredRecordOfAHugeCustomerDoesNotWedgeTheWriter(t *testing.T) {
	b := startBroker(t)
	big := alertFor("huge-customer", strings.Repeat("c", 600_000), []string{"nowhere"})
	v, _ := json.Marshal(big)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("big"), Value: v})
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "hunt-huge-customer",
		Sender:         notify.SenderConfig{Timeout: time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	// The huge alert is read and its give-up handed to the writer first.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := huntStateOf(st, "huge-customer", "nowhere"); ok {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	after := alertFor("after", "c-1", []string{"nowhere"})
	v, _ = json.Marshal(after)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})

	deadline = time.Now().Add(20 * time.Second)
	var ds contract.DestinationState
	for time.Now().Before(deadline) {
		if ds, _ = huntStateOf(st, "after", "nowhere"); ds.State == contract.DeliveryUndelivered {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	hs, _ := huntStateOf(st, "huge-customer", "nowhere")
	if ds.State != contract.DeliveryUndelivered {
		t.Errorf("alert of c-1 naming no destination, read after one of a 600 KB customer id: after 20 s its state is %q (%q); want undelivered (recorded): the huge one's undelivered record (%q, %q) holds the writer",
			ds.State, ds.Reason, hs.State, hs.Reason)
	}
	if hs.State != contract.DeliveryUndelivered {
		t.Errorf("alert of a 600 KB customer id naming no destination: state %q; want its undelivered record written, made to fit", hs.State)
	}
}

// huntStateOf is the state of alert id's delivery to name in st.Recent.
func huntStateOf(st *notify.Stage, id, name string) (contract.DestinationState, bool) {
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

// TestHuntRecordsThatAreNoAlertsAreSkipped: an alerts record that is not an alert is
// "skipped", warned about and counted in hindsight_notify_skipped_total (handle:
// "Not an alert this build wrote"). The JSON null and an empty object decode without
// error into a zero Alert (no id, no rule, no customer, no status), pass checkAlert, and
// are counted as alerts read and listed in the console's deliveries as alerts with no
// id, unsaid. Each is to be skipped as not an alert.
func TestHuntRecordsThatAreNoAlertsAreSkipped(t *testing.T) {
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
	st := oneAttemptStage(t, b, "hunt-not-alerts", reg)
	runStage(t, st)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && b.GroupCommitted(t, "hunt-not-alerts", "alerts") < int64(len(recs)) {
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

// TestHuntHugeRetryAfterIsNotIgnored: parseRetryAfter means to take a delta-seconds
// too large for a Duration as the longest wait (its branch for n past MaxInt64/1e9),
// which is over any retry budget: the delivery is given up at once, "Retry-After … is
// beyond the retry budget". But it parses with strconv.ParseUint(v, 10, 63), which
// fails with ErrRange for 2^63 and more, and the value, no HTTP date either, is then
// ignored: a receiver answering 429 "Retry-After: 99999999999999999999" (RFC 9110's
// delta-seconds has no length bound) is retried at once on the short backoff, the
// opposite of what it asked, while one answering "Retry-After: 9999999999" is left
// alone. Both must end the retries as beyond the budget.
func TestHuntHugeRetryAfterIsNotIgnored(t *testing.T) {
	for _, ra := range []string{"9999999999", "99999999999999999999"} {
		rc := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Retry-After", ra)
			w.WriteHeader(http.StatusTooManyRequests)
			return false
		})
		snd, err := notify.NewSender(huntSenderConfig())
		if err != nil {
			t.Fatal(err)
		}
		a := alertFor("ra", "c-1", []string{"hook"})
		out := snd.Deliver(t.Context(), notify.Target{Name: "hook", Type: notify.TypeWebhook, URL: rc.srv.URL + "/hook"}, &a)
		snd.Close()
		if out.Attempts != 1 || !strings.Contains(out.Reason, "beyond the retry budget") {
			t.Errorf("429 with Retry-After: %s: %d attempts (receiver saw %d), reason %q; want 1 attempt, the Retry-After beyond the retry budget",
				ra, out.Attempts, rc.requests(), out.Reason)
		}
	}
}
