package notify_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
)

// TestDestinationNamesDoNotGrowMetricSeries: alerts whose rules name destinations
// that are not (or no longer) defined — any valid name a rule's alert.notify lists —
// are recorded undelivered. Each name became a hindsight_notify_deliveries_total
// {destination} series kept for the life of the process, /metrics growing with every
// name ever named (found by a review helper); they share one label, "(none)", now.
func TestDestinationNamesDoNotGrowMetricSeries(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	const n = 60
	var recs []*kgo.Record
	for i := range n {
		a := alertFor(fmt.Sprintf("%032x", i+1), "c-1", []string{fmt.Sprintf("team-%d", i)})
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: a.AppendJSON(nil)})
	}
	b.Produce(t, recs...)
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Registerer: reg,
		CommitInterval: 50 * time.Millisecond, Sender: notify.SenderConfig{AllowPrivate: true}, Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	poll.Until(t, 30*time.Second, "every alert recorded undelivered", func() bool {
		return promtest.Sum(t, reg, "hindsight_notify_deliveries_total") == n
	})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		if mf.GetName() == "hindsight_notify_deliveries_total" {
			series = len(mf.GetMetric())
		}
	}
	t.Logf("no destination defined; %d alerts naming %d names: %d hindsight_notify_deliveries_total series", n, n, series)
	if series > 1 {
		t.Fatalf("%d hindsight_notify_deliveries_total{destination} series for names no destination has: one per name ever named, unbounded (no flag, not in hindsight_limit)", series)
	}
}
