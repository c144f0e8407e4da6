package live_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/fetcherr"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRecreatedTopicWhileRunning: the events topic is deleted and made again while the
// daemon runs (its offsets restart at 0). franz-go never adopts the new topic id, so
// every fetch fails with UNKNOWN_TOPIC_ID: the daemon stops with ErrTopicRecreated, and
// a restart reads the new log (its snapshots name the old one and are not restored).
// It logged the error and polled again for ever, thousands of warnings a second,
// counting nothing, /v1/state saying nothing.
func TestRecreatedTopicWhileRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out the fetch errors of a recreated topic: make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	thirtyLogins(t, b, "old")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := live.Start(ctx, live.Config{
		Kafka:          ingest.KafkaConfig{Brokers: []string{b.Addr}},
		HTTPAddr:       "127.0.0.1:0",
		Group:          livetest.Group(t),
		CommitInterval: 100 * time.Millisecond,
		Logger:         testlog.New(t),
		LakeURL:        "file://" + t.TempDir(),
		NoArchive:      true,
		NoBackfill:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "the old log counted", func() bool {
		st := d.State()
		return len(st.Partitions) == 1 && st.Partitions[0].NextOffset == 30
	})

	b.RecreateTopic(t, "events", 1)
	b.Produce(t, livetest.Event("new", `{"type":"login"}`))
	select {
	case <-d.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("30s after the events topic was made again the daemon still runs; /v1/state: %+v", d.State().Partitions)
	}
	if err := d.Wait(); !errors.Is(err, fetcherr.ErrTopicRecreated) {
		t.Fatalf("the daemon stopped with %v, want ErrTopicRecreated", err)
	}
}

// thirtyLogins produces a rule counting logins, then 30 logins of customer, the events
// at offsets 0–29 of b's one events partition.
func thirtyLogins(t *testing.T, b *kafkatest.Broker, customer string) *rule.Rule {
	t.Helper()
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	recs := make([]*kgo.Record, 30)
	for i := range recs {
		recs[i] = livetest.Event(customer, `{"type":"login"}`)
	}
	b.Produce(t, recs...)
	return r
}
