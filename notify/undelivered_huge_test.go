package notify_test

import (
	"encoding/json"
	"strconv"
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

// TestUndeliveredRecordOfAHugeCustomerDoesNotWedgeTheWriter: --max-customer-bytes has
// no upper bound, and an alert of a customer id of 600 KB fits --alert-max-bytes: live
// produces it. Given up on (here: its destination does not exist), its undelivered
// record had the customer as its key, again in its alert and a third time in its
// reason, 1.8 MB, over what the client takes; cutUndelivered could leave out only
// context and group values, so the record was "as small as it gets" and
// writeUndelivered tried it again for ever (no MaxElapsedTime). The stage's one
// undelivered writer was held by it: every later give-up as alerts are read (no
// destination, a full queue), of every customer and partition, waited behind it, never
// recorded, their offsets never committed. Its key is cut now, as a dead-lettered
// alert's is (ingest.HeaderOriginalBytes giving the size before), and the reason
// quotes the customer clipped; the alert keeps the id whole.
func TestUndeliveredRecordOfAHugeCustomerDoesNotWedgeTheWriter(t *testing.T) {
	t.Parallel() // a broker and stage of its own
	b := startBroker(t)
	huge := strings.Repeat("c", 600_000)
	big := alertFor("huge-customer", huge, []string{"nowhere"})
	v, _ := json.Marshal(big)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("big"), Value: v})
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-huge-customer",
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
		if _, ok := deliveryState(st, "huge-customer", "nowhere"); ok {
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
		if ds, _ = deliveryState(st, "after", "nowhere"); ds.State == contract.DeliveryUndelivered {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	hs, _ := deliveryState(st, "huge-customer", "nowhere")
	if ds.State != contract.DeliveryUndelivered {
		t.Errorf("alert of c-1 naming no destination, read after one of a 600 KB customer id: after 20 s its state is %q (%q); want undelivered (recorded): the huge one's undelivered record (%q, %q) holds the writer",
			ds.State, ds.Reason, hs.State, hs.Reason)
	}
	if hs.State != contract.DeliveryUndelivered {
		t.Errorf("alert of a 600 KB customer id naming no destination: state %q; want its undelivered record written, made to fit", hs.State)
	}

	recs := b.Consume(t, "alerts.undelivered", 2, 10*time.Second)
	if len(recs) != 2 {
		t.Fatalf("%d undelivered records; want 2", len(recs))
	}
	r := recs[0]
	var u contract.Undelivered
	if err := json.Unmarshal(r.Value, &u); err != nil {
		t.Fatal(err)
	}
	var original string
	for _, h := range r.Headers {
		if h.Key == ingest.HeaderOriginalBytes {
			original = string(h.Value)
		}
	}
	if n, _ := strconv.Atoi(original); len(r.Key) > 1024 || !strings.HasPrefix(huge, string(r.Key)) || n <= len(huge) ||
		u.Alert.AlertID != "huge-customer" || u.Alert.Customer != huge || len(u.Reason) > 1024 {
		t.Errorf("undelivered record of the huge customer: key of %d bytes, %s %q, alert %q of a customer of %d bytes, reason of %d bytes; want the key cut to at most 1024 bytes (its size before in the header), the alert whole, the reason short",
			len(r.Key), ingest.HeaderOriginalBytes, original, u.Alert.AlertID, len(u.Alert.Customer), len(u.Reason))
	}
	if string(recs[1].Key) != "c-1" || len(recs[1].Headers) != 0 {
		t.Errorf("undelivered record of c-1: key %q, headers %v; want c-1, none", recs[1].Key, recs[1].Headers)
	}
}

// TestUndeliveredRecordTooLargeEvenCutIsLost: an undelivered topic that refuses even
// the record cut to its smallest (key and alert values cut) has it counted and logged
// as lost, its alert handled, rather than retried for ever on the stage's one writer,
// every give-up after it waiting.
func TestUndeliveredRecordTooLargeEvenCutIsLost(t *testing.T) {
	t.Parallel() // a broker and stage of its own
	b := startBroker(t)
	b.SetTopicConfig(t, "alerts.undelivered", "max.message.bytes", "100")
	reg := prometheus.NewRegistry()
	st := oneAttemptStage(t, b, "notify-undelivered-lost", reg)
	runStage(t, st)
	var recs []*kgo.Record
	for _, id := range []string{"first", "second"} {
		a := alertFor(id, "c-1", []string{"nowhere"})
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: a.AppendJSON(nil)})
	}
	b.Produce(t, recs...)
	poll.Until(t, 20*time.Second, "both alerts handled and committed", func() bool {
		return b.GroupCommitted(t, "notify-undelivered-lost", "alerts") == 2
	})
	if lost := promtest.Sum(t, reg, "hindsight_notify_undelivered_lost_total"); lost != 2 {
		t.Errorf("hindsight_notify_undelivered_lost_total %v; want 2", lost)
	}
	for _, id := range []string{"first", "second"} {
		if ds, _ := deliveryState(st, id, "nowhere"); ds.State != contract.DeliveryUndelivered || !strings.Contains(ds.Reason, "lost") {
			t.Errorf("alert %s: state %q, reason %q; want undelivered, its record lost", id, ds.State, ds.Reason)
		}
	}
}
