package live_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestAlertsTotalCountsCrossingsNotResolves: hindsight_alerts_total is "alerts raised
// (threshold crossings)", and /healthz's alerts the same figure; a resolved record
// (alert.resolve) ends an alert a crossing raised, under the same alert_id
// (contract.StatusResolved), and is no crossing. One window crossing its threshold and
// later closing puts one firing and one resolved record on the alerts topic: the
// metric and /healthz must say 1 alert raised, and say 2.
func TestAlertsTotalCountsCrossingsNotResolves(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d := startHTTPDaemonOn(t, b, nil)
	r := livetest.ParseRule(t, `{"id":"big-download","scope":"*","when":{"path":"$.type","op":"==","value":"file.downloaded"},`+
		`"group_by":["$.user"],"aggregate":{"fn":"sum","path":"$.bytes"},"window":{"size":"1h"},"time":"$.ts",`+
		`"threshold":{"op":">","value":1000},"alert":{"resolve":true}}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d.Daemon, r.Key(), 1)
	dl := func(user string, bytes int, hhmm string) *kgo.Record {
		return livetest.Event("c-1", fmt.Sprintf(`{"type":"file.downloaded","user":%q,"bytes":%d,"ts":"2026-01-01T%s:00Z"}`, user, bytes, hhmm))
	}
	b.Produce(t, dl("u1", 2000, "10:05"), dl("u2", 1, "14:00")) // u1's 10:00 window fires; the 14:00 event closes it
	alerts := alertsOn(t, b, 2)
	statuses := map[string]int{}
	for _, a := range alerts {
		statuses[a.Status]++
	}
	if statuses[contract.StatusFiring] != 1 || statuses[contract.StatusResolved] != 1 {
		t.Fatalf("alerts topic: %v, want one firing and its resolve", statuses)
	}
	waitSeen(t, d.Daemon, 2)
	if got := promtest.Sum(t, d.reg, "hindsight_alerts_total"); got != 1 {
		t.Errorf("hindsight_alerts_total = %v after one threshold crossing (one firing, one resolved record), want 1", got)
	}
	var h struct {
		Alerts int64 `json:"alerts"`
	}
	livetest.GetJSON(t, d.base+"/healthz", &h)
	if h.Alerts != 1 {
		t.Errorf("/healthz alerts = %d after one threshold crossing, want 1", h.Alerts)
	}
}
