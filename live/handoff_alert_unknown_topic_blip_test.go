package live_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestAlertSurvivesABriefUnknownAlertsTopic: the alerts topic answers its first 6
// produce requests with UNKNOWN_TOPIC_OR_PARTITION (metadata lagging a reassignment),
// then takes them. An alert live raises in an events batch is produced through the
// events consumer's client, which waits such an answer out (kgo.UnknownTopicRetries(-1),
// TestDeadLetterSurvivesABriefUnknownTopic). An alert a rule's hand-off raises over
// history goes through the daemon's alertProducer, made without that option: franz-go
// gives it up after its default 4 retries, and it goes to the dead-letter topic as
// not_produced, never reaching the alerts topic or notify. One verdict: the same
// crossing must reach the alerts topic whichever path raised it.
func TestAlertSurvivesABriefUnknownAlertsTopic(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out franz-go's backoff over unknown-topic answers: make test runs it")
	}
	t.Parallel()
	for _, tc := range []struct {
		name string
		// history: the event is in the topic before the rule (a hand-off alert);
		// else it comes after the rule (a live alert).
		history bool
	}{
		{"live alert", false},
		{"hand-off alert", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.history {
				b.Produce(t, livetest.Event("c1", `{"type":"x"}`))
			}
			d, err := live.Start(ctx, live.Config{
				Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, HTTPAddr: "127.0.0.1:0", Group: livetest.Group(t),
				CommitInterval: 100 * time.Millisecond, Logger: testlog.New(t), LakeURL: "file://" + t.TempDir(),
				NoArchive: true, ShutdownTimeout: 5 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.history {
				poll.Until(t, 60*time.Second, "the event read", func() bool { return d.EventsSeen() == 1 })
			}
			var refused atomic.Int32
			b.FailProduces(t, "alerts", kerr.UnknownTopicOrPartition, func(*kmsg.ProduceRequest) bool { return refused.Add(1) <= 6 })
			b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"x","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},"threshold":1}`)))
			if !tc.history {
				// The rule active before the event is produced: the event is evaluated
				// with it, live, not handed over from history.
				poll.Until(t, 60*time.Second, "rule x live", func() bool {
					rs := d.Rules()
					return len(rs) == 1 && rs[0].ID == "x" && rs[0].Status == contract.RuleLive
				})
				b.Produce(t, livetest.Event("c1", `{"type":"x"}`))
			}
			poll.Until(t, 60*time.Second, "the alert raised", func() bool { return d.AlertsRaised() >= 1 })
			alerts := b.Consume(t, "alerts", 1, 45*time.Second)
			dlq := b.Consume(t, "events.dlq", 1, 2*time.Second)
			cancel()
			<-d.Done()
			t.Logf("%s: %d produces refused; alerts %d, events.dlq %d", tc.name, refused.Load(), len(alerts), len(dlq))
			if len(alerts) != 1 {
				t.Fatalf("%s: the alerts topic refused %d produce requests with UNKNOWN_TOPIC_OR_PARTITION, then took them; the alerts topic holds %d alerts (want 1) and events.dlq %d records: the alert was given up on a brief unknown-topic answer",
					tc.name, refused.Load(), len(alerts), len(dlq))
			}
		})
	}
}
