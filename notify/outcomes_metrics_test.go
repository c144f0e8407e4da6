package notify_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDeliveryOutcomesCountedByDestinationAndOutcome reads back, after one alert of each
// kind, the series an operator watches: hindsight_notify_deliveries_total by destination
// and outcome (delivered, undelivered, muted; "(none)" for a name no destination has),
// hindsight_notify_attempts_total by destination, hindsight_notify_delivery_seconds
// (one observation per delivery that got its 2xx) and hindsight_notify_alerts_total (every
// alert record read, one naming no destination too). Each was asserted only as a sum, or
// not at all: a mutation hunt dropped the histogram's observation, or counted an
// undelivered delivery under its name where no destination has it, and no test failed.
func TestDeliveryOutcomesCountedByDestinationAndOutcome(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ok := newSink(t, ok200)
	gone := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool { return fail(true, w, http.StatusNotFound) })
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ok", Type: rule.DestWebhook, URL: ok.srv.URL + "/hook"}),
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "gone", Type: rule.DestWebhook, URL: gone.srv.URL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-3", ID: "quiet", Rule: "*", Reason: "maintenance", By: "test"}),
	)...)
	reg := prometheus.NewRegistry()
	runStage(t, oneAttemptStage(t, b, "notify-outcomes-test", reg))

	both := alertFor("a1", "c-1", []string{"ok", "gone"})
	byRecord := alertFor("a2", "c-1", []string{"ok"})
	byRecord.Muted = true
	byMute := alertFor("a3", "c-3", []string{"gone"})
	nowhere := alertFor("a4", "c-1", []string{"nowhere"})
	quiet := alertFor("a5", "c-1", nil)
	var recs []*kgo.Record
	for _, a := range []contract.Alert{both, byRecord, byMute, nowhere} {
		v, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: v})
	}
	// As live writes an alert naming no destination (AppendJSON), which the stage
	// counts without decoding.
	recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: quiet.AppendJSON(nil)})
	b.Produce(t, recs...)
	poll.Until(t, 10*time.Second, "every alert handled and its offset committed", func() bool {
		return b.GroupCommitted(t, "notify-outcomes-test", "alerts") == int64(len(recs))
	})

	want := map[[2]string]float64{
		{"ok", contract.DeliveryDelivered}:                        1,
		{"ok", contract.DeliveryMuted}:                            1,
		{"gone", contract.DeliveryUndelivered}:                    1,
		{"gone", contract.DeliveryMuted}:                          1,
		{notify.NoDestinationLabel, contract.DeliveryUndelivered}: 1,
	}
	got := map[[2]string]float64{}
	var observed uint64 = 1 << 63
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "hindsight_notify_deliveries_total":
			for _, m := range mf.GetMetric() {
				var k [2]string
				for _, l := range m.GetLabel() {
					switch l.GetName() {
					case "destination":
						k[0] = l.GetValue()
					case "outcome":
						k[1] = l.GetValue()
					}
				}
				got[k] = m.GetCounter().GetValue()
			}
		case "hindsight_notify_delivery_seconds":
			observed = mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("hindsight_notify_deliveries_total{destination=%q,outcome=%q} = %v, want %v", k[0], k[1], got[k], w)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("hindsight_notify_deliveries_total{destination=%q,outcome=%q} = %v, want no such series", k[0], k[1], v)
		}
	}
	if observed != 1 {
		t.Errorf("hindsight_notify_delivery_seconds counts %d observations, want 1 (a1 to ok, the one delivery answered 2xx)", observed)
	}
	for name, w := range map[string]float64{"ok": 1, "gone": 1} {
		if n := promtest.Value(t, reg, "hindsight_notify_attempts_total", "destination", name); n != w {
			t.Errorf("hindsight_notify_attempts_total{destination=%q} = %v, want %v", name, n, w)
		}
	}
	if n := promtest.Sum(t, reg, "hindsight_notify_attempts_total"); n != 2 {
		t.Errorf("hindsight_notify_attempts_total sums %v, want 2 (a1 to ok and to gone; the muted and the nowhere ones make no request)", n)
	}
	if n := promtest.Sum(t, reg, "hindsight_notify_alerts_total"); n != float64(len(recs)) {
		t.Errorf("hindsight_notify_alerts_total = %v, want %d (a5, naming no destination, included)", n, len(recs))
	}
}
