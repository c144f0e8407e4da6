package notify_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// readingWaitsRig is what the tests of owed firings behind a waiting reading share: the
// destinations ops (received records what it got) and slow (holding each request until
// free), a mute of rule r folded, and a member of group whose reading waits at one
// pending alert (--notify-max-pending 1).
type readingWaitsRig struct {
	b        *kafkatest.Broker
	st       *notify.Stage
	received func() []string
	free     func()
}

func newReadingWaitsRig(t *testing.T, group string) *readingWaitsRig {
	t.Helper()
	r := &readingWaitsRig{b: startBroker(t)}
	hookURL, received := keyRecorder(t)
	slowURL, free := slowReceiver(t)
	r.received, r.free = received, free
	r.b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hookURL + "/hook"}),
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "slow", Type: rule.DestWebhook, URL: slowURL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "*", ID: "maint", Rule: "r", Reason: "maintenance", By: "ops"}))...)
	r.st, _ = startMember(t, notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{r.b.Addr}}, Group: group, MaxPending: 1,
		Sender:         notify.SenderConfig{Timeout: 30 * time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return r.st.Registry().Muted("r", "c-1", time.Now()) != nil })
	return r
}

// alert is the alerts record of alert id of customer and rule ruleID, for the
// destinations names.
func (r *readingWaitsRig) alert(id, customer, ruleID, status string, muted bool, names ...string) *kgo.Record {
	a := alertFor(id, customer, names)
	a.RuleID, a.Status, a.Muted = ruleID, status, muted
	v, _ := json.Marshal(a)
	return &kgo.Record{Topic: "alerts", Key: []byte("k"), Value: v}
}

// deleteMuteAfter deletes the mute with its record stamped a millisecond after at (a
// resolve's): produced within the same millisecond, both were stamped alike, and a mute
// ended at the resolve's own time does not cover it (seen once in CI). It waits for the
// delete to be folded.
func (r *readingWaitsRig) deleteMuteAfter(t *testing.T, at time.Time) {
	t.Helper()
	del := controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "*", ID: "maint"}))
	del[0].Timestamp = at.Add(time.Millisecond)
	r.b.Produce(t, del...)
	poll.Until(t, 10*time.Second, "the mute's delete folded", func() bool { return r.st.Registry().Muted("r", "c-1", time.Now()) == nil })
}
