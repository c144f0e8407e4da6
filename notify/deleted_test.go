package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestAlertsDeletedBeforeNotifyReadThemAreCounted: the alerts topic's retention
// (hindsight live --embedded-retention-bytes) deletes alerts past the notify group's
// committed offset while the stage is stopped. They are delivered by nobody; they were
// also counted by nobody, and nothing was logged. Every alert produced is now
// delivered, recorded undelivered, or counted in
// hindsight_notify_alerts_deleted_unread_total.
func TestAlertsDeletedBeforeNotifyReadThemAreCounted(t *testing.T) {
	t.Parallel()
	e, err := ingest.StartEmbedded(ingest.EmbeddedConfig{Addr: "127.0.0.1:0", SegmentBytes: 16 << 10, RetentionBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	var topics ingest.Topics
	topics.EnsureDefaults()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dc := rule.UpsertDestination(&rule.Destination{Scope: rule.GlobalScope, Name: "hook", Type: "webhook", URL: srv.URL})
	dv, err := dc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topics.Controls, Key: []byte(dc.RecordKey()), Value: dv}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pad, _ := json.Marshal(strings.Repeat("x", 1000))
	produce := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i += 10 {
			var batch []*kgo.Record
			for j := i; j < i+10; j++ {
				a := contract.Alert{AlertID: fmt.Sprintf("%032x", j+1), RuleID: "r", Scope: "*", Version: 1,
					Customer: fmt.Sprintf("c-%d", j), Count: 1, Threshold: rule.AtLeast(1), EventTime: time.Now().UTC(),
					Source: contract.SourceLive, Status: contract.StatusFiring, Severity: "medium",
					Context: map[string]json.RawMessage{"$.pad": pad}, Notify: []string{"hook"}}
				v, _ := json.Marshal(a)
				batch = append(batch, &kgo.Record{Topic: topics.Alerts, Key: []byte(a.Customer), Value: v})
			}
			if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	adm := kadm.NewClient(cl)
	committed := func() int64 {
		offs, err := adm.FetchOffsets(ctx, "hindsight-notify")
		if err != nil {
			return -1
		}
		o, ok := offs.Lookup(topics.Alerts, 0)
		if !ok {
			return -1
		}
		return o.At
	}
	run := func() (*prometheus.Registry, func()) {
		reg := prometheus.NewRegistry()
		st, err := notify.New(notify.Config{Kafka: ingest.KafkaConfig{Brokers: []string{e.Addr}}, Registerer: reg,
			CommitInterval: 50 * time.Millisecond, Sender: notify.SenderConfig{AllowPrivate: true}, Logger: testlog.New(t)})
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- st.Run(sctx) }()
		return reg, func() { stop(); <-done }
	}

	// A first run delivers 10 alerts and commits past them.
	produce(0, 10)
	_, stop := run()
	poll.Until(t, 20*time.Second, "10 alerts delivered and committed", func() bool { return hits.Load() == 10 && committed() == 10 })
	stop()

	// 400 more, about 480 KiB, while it is stopped: the 64 KiB retention deletes most.
	const n = 400
	produce(10, n)
	var start int64
	poll.Until(t, 30*time.Second, "the retention to pass the committed offset", func() bool {
		so, err := adm.ListStartOffsets(ctx, topics.Alerts)
		if err != nil {
			return false
		}
		o, _ := so.Lookup(topics.Alerts, 0)
		start = o.Offset
		return start > 10
	})
	reg, stop := run()
	defer stop()
	poll.Until(t, 60*time.Second, "the rest delivered", func() bool { return committed() == 10+n })
	deleted := promtest.Sum(t, reg, "hindsight_notify_alerts_deleted_unread_total")
	if delivered := hits.Load() - 10; delivered+int64(deleted) != n || deleted < float64(start-10) {
		t.Errorf("of %d alerts produced while the stage was stopped, %d delivered and %v counted deleted unread (the log starts at %d, the group had committed 10)",
			n, delivered, deleted, start)
	}
}
