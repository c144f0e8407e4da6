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

// TestMutedFiringOwedBehindATransactionMarker: a muted firing f1, written in a
// committed Kafka transaction, is read; its mute is then deleted, and nothing more is
// written. f1 is owed (TestDeletedMuteSendsTheMutedFiring, the same records written
// without a transaction, sends it). Stage.passed sends it only once the partition's
// reading reaches the end offset listed, but the transaction's commit marker takes
// the last offset and is never handled as a record (tracker.readTo stops one short),
// and f1's record time is under the mute: f1 waits, unsaid, until another record
// arrives on its partition.
func TestMutedFiringOwedBehindATransactionMarker(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out checks for ended mutes: make test runs it")
	}
	b := startBroker(t)
	hookURL, received := keyRecorder(t)
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hookURL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "*", ID: "maint", Rule: "r", Reason: "maintenance", By: "ops"}))...)
	group := "notify-owed-behind-marker"
	st, _ := startMember(t, notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	a := alertFor("f1", "c-1", []string{"ops"})
	a.Status, a.Muted = contract.StatusFiring, true
	v, _ := json.Marshal(a)
	txn := b.TxnClient(t, "alerts-writer", []string{"alerts"})
	kafkatest.Transact(t, txn, kgo.TryCommit, &kgo.Record{Topic: "alerts", Key: []byte("k"), Value: v})
	poll.Until(t, 15*time.Second, "f1 handled", func() bool { return b.GroupCommitted(t, group, "alerts") >= 1 })
	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "*", ID: "maint"}))...)
	poll.Until(t, 10*time.Second, "the mute's delete folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) == nil })
	ticks := st.UnmuteChecks()
	poll.Until(t, 15*time.Second, "five checks for ended mutes run with the delete folded", func() bool { return st.UnmuteChecks() >= ticks+5 })
	if want := []string{"f1:firing"}; !slices.Equal(received(), want) {
		t.Errorf("after five checks for ended mutes with the delete folded and every record of the partition read, the receiver got %q, want %q: f1's owed firing waits behind its transaction's commit marker", received(), want)
	}
}
