package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStageSwitchingProtocolsReceiverDoesNotHoldTheStage: a receiver that answers 101
// and holds the connection must cost one attempt's timeout: the alert is recorded
// undelivered (or retried) and committed, and the stage stops when asked. Instead the
// worker blocks in the Sender for as long as the receiver wants: nothing past the
// alert is committed, and Run does not return after its ctx is canceled.
func TestStageSwitchingProtocolsReceiverDoesNotHoldTheStage(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	addr, requests, letGo := notify.SwitchingReceiver(t)
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "switch", Type: rule.DestWebhook, URL: "http://" + addr + "/hook"}))...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-switch-test",
		Sender:         notify.SenderConfig{Timeout: 500 * time.Millisecond, MaxAttempts: 2, InitialBackoff: 10 * time.Millisecond, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	a := alertFor("a1", "c-1", []string{"switch"})
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: a.AppendJSON(nil)})
	poll.Until(t, 20*time.Second, "the receiver asked", func() bool { return requests.Load() > 0 })

	poll.Until(t, 10*time.Second, "the alert handled and committed (two attempts of 500ms)", func() bool {
		return b.GroupCommitted(t, "notify-switch-test", "alerts") == 1
	})
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Errorf("Run has not returned 5s after its ctx was canceled")
		letGo()
		<-done
	}
}
