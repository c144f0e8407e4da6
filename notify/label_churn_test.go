package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestDestinationNamesDoNotGrowMetricSeries: alerts whose rules name destinations
// that are not (or no longer) defined — any valid name a rule's alert.notify lists —
// are recorded undelivered. Each name became a hindsight_notify_deliveries_total
// {destination} series kept for the life of the process, /metrics growing with every
// name ever named (found by a review helper); they share one label, "(none)", now.
func TestDestinationNamesDoNotGrowMetricSeries(t *testing.T) {
	t.Parallel()
	e, err := ingest.StartEmbedded(ingest.EmbeddedConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	var topics ingest.Topics
	topics.EnsureDefaults()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 60
	var batch []*kgo.Record
	for i := range n {
		a := contract.Alert{AlertID: fmt.Sprintf("%032x", i+1), RuleID: fmt.Sprintf("r-%d", i), Scope: "*", Version: 1,
			Customer: "c-1", Count: 1, Threshold: rule.AtLeast(1), EventTime: time.Now().UTC(),
			Source: contract.SourceLive, Status: contract.StatusFiring, Severity: "medium",
			Notify: []string{fmt.Sprintf("team-%d", i)}}
		v, _ := json.Marshal(a)
		batch = append(batch, &kgo.Record{Topic: topics.Alerts, Key: []byte(a.Customer), Value: v})
	}
	if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{Kafka: ingest.KafkaConfig{Brokers: []string{e.Addr}}, Registerer: reg,
		CommitInterval: 50 * time.Millisecond, Sender: notify.SenderConfig{AllowPrivate: true}, Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(sctx) }()
	defer func() { stop(); <-done }()
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
