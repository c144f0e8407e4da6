package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/fetcherr"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
)

// TestReviewFatalFetchErrorStopsNotify: the alerts topic is deleted and made again
// while notify reads it. consume returns ErrTopicRecreated, but its deferred waits for
// the commit ticker and the undelivered writer, which end only with ctx, the errgroup's
// context, cancelled only once consume has returned: Run never returns.
// TestRecreatedAlertsTopicStopsNotify: the alerts topic is deleted and made again while
// notify reads it. Notify stops with ErrTopicRecreated (a restart reads the new log):
// the fatal fetch error was found, and then Run waited for its writer and committer,
// which end only with the caller's context, and hung.
func TestRecreatedAlertsTopicStopsNotify(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out the fetch errors of a recreated topic: make test runs it")
	}
	t.Parallel()
	b := startBroker(t)
	a := alertFor("00000000000000000000000000000001", "c-1", []string{"team"})
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: a.AppendJSON(nil)})
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Registerer: reg,
		CommitInterval: 50 * time.Millisecond, Sender: notify.SenderConfig{AllowPrivate: true}, Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	poll.Until(t, 30*time.Second, "the alert read", func() bool {
		return promtest.Sum(t, reg, "hindsight_notify_deliveries_total") == 1
	})

	b.RecreateTopic(t, "alerts", 1)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: a.AppendJSON(nil)})
	select {
	case err := <-done:
		if !errors.Is(err, fetcherr.ErrTopicRecreated) {
			t.Fatalf("notify stopped with %v, want ErrTopicRecreated", err)
		}
	case <-time.After(30 * time.Second):
		cancel()
		err := <-done
		t.Fatalf("30s after the alerts topic was made again notify's Run had not returned; once ctx was cancelled it returned %v", err)
	}
}
