package notify_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestFailedCommitIsMadeAgain: a commit of the alerts offsets the broker refuses is
// made again at a later tick, though no record came since ("the next commit covers
// these offsets too"). Noting the refused offsets as committed anyway (Stage.commit
// skipping its error) left a quiet partition uncommitted until more alerts came, so a
// restart delivered its handled alerts again, and no test noticed.
func TestFailedCommitIsMadeAgain(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	const group = "notify-commit-refused"
	// The broker refuses the group's first two commits that carry offsets.
	var refused atomic.Int64
	c := b.Cluster
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		cr := req.(*kmsg.OffsetCommitRequest)
		if cr.Group != group || len(cr.Topics) == 0 || refused.Load() >= 2 {
			return nil, nil, false
		}
		refused.Add(1)
		resp := cr.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, tp := range cr.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = tp.Topic
			for _, p := range tp.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	startMember(t, cfg)
	v, _ := json.Marshal(alertFor("a1", "c-1", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	poll.Until(t, 10*time.Second, "a1 delivered", func() bool { return slices.Contains(hook.delivered(), "a1:firing") })
	poll.Until(t, 10*time.Second, "a commit refused", func() bool { return refused.Load() >= 1 })
	poll.Until(t, 10*time.Second, "the alerts offsets committed after the refusals", func() bool {
		return b.GroupCommitted(t, group, "alerts") == 1
	})
}
