package notify_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestAbortedTransactionAlertIsNotPaged: an alert firing x written in a Kafka
// transaction that is aborted is no record (docs/notifications.md counts the abort
// marker as read; every other reader reads committed). Then a2 is written plainly.
// The receiver must get a2 only: the notify consumer reads uncommitted, so it pages x.
func TestAbortedTransactionAlertIsNotPaged(t *testing.T) {
	b := startBroker(t)
	hookURL, received := keyRecorder(t)
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hookURL + "/hook"}))...)
	group := "notify-aborted-txn"
	st, _ := startMember(t, notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	poll.Until(t, 10*time.Second, "the destination folded", func() bool {
		_, ok := st.Registry().Destination("c-1", "ops")
		return ok
	})
	x := alertFor("x", "c-1", []string{"ops"})
	x.Status = contract.StatusFiring
	xv, _ := json.Marshal(x)
	txn := b.TxnClient(t, "alerts-writer", []string{"alerts"})
	kafkatest.Transact(t, txn, kgo.TryAbort, &kgo.Record{Topic: "alerts", Key: []byte("k"), Value: xv})
	a2 := alertFor("a2", "c-1", []string{"ops"})
	a2.Status = contract.StatusFiring
	av, _ := json.Marshal(a2)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("k"), Value: av})
	poll.Until(t, 15*time.Second, "a2 delivered", func() bool { return slices.Contains(received(), "a2:firing") })
	want := []string{"a2:firing"}
	poll.Until(t, 15*time.Second, "a2 committed", func() bool { return b.GroupCommitted(t, group, "alerts") >= 1 })
	if r := received(); !slices.Equal(r, want) {
		t.Errorf("the receiver got %q, want %q: an aborted transaction's alert was paged (the notify consumer reads uncommitted)", r, want)
	}
}
