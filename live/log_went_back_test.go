package live_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestLogWentBackIsNotCountedTwice: after the daemon counted offsets 0–29, the
// partition's leader answers its fetch at 30 with OFFSET_OUT_OF_RANGE, a log ending at
// 20 (truncated below the consumer: an unclean leader election, a leader without the
// history; kfake cannot truncate, so the reply is made). franz-go then resumes per
// ConsumeResetOffset, the log's start, and the brokers give offsets 0–29 again: they
// are skipped and counted in hindsight_events_refetched_total. They were counted a
// second time (30 logins became 60), with only a "fetch error" warning.
func TestLogWentBackIsNotCountedTwice(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := thirtyLogins(t, b, "c")
	md, err := kadm.NewClient(b.Client(t)).Metadata(context.Background(), "events")
	if err != nil {
		t.Fatal(err)
	}
	eventsID := md.Topics["events"].ID

	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Registry = reg })
	counted := func(want int64) func() bool {
		return func() bool { v, _ := d.Count(r.Key(), "c"); return v.Count == want }
	}
	poll.Until(t, 20*time.Second, "the log counted", counted(30))

	// One fetch of events partition 0 at 30 or beyond is answered OFFSET_OUT_OF_RANGE,
	// as a leader whose log ends at 20 answers it.
	var injected atomic.Bool
	b.Cluster.ControlKey(int16(kmsg.Fetch), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		req := kr.(*kmsg.FetchRequest)
		for _, rt := range req.Topics {
			if rt.Topic != "events" && rt.TopicID != eventsID {
				continue
			}
			for _, rp := range rt.Partitions {
				if rp.Partition != 0 || rp.FetchOffset < 30 || injected.Load() {
					continue
				}
				resp := req.ResponseKind().(*kmsg.FetchResponse)
				resp.Version = req.Version
				st := kmsg.NewFetchResponseTopic()
				st.Topic, st.TopicID = rt.Topic, rt.TopicID
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.ErrorCode = kerr.OffsetOutOfRange.Code
				sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = 20, 20, 0
				st.Partitions = append(st.Partitions, sp)
				resp.Topics = append(resp.Topics, st)
				injected.Store(true)
				return resp, nil, true
			}
		}
		return nil, nil, false
	})
	poll.Until(t, 10*time.Second, "a fetch at 30 answered out of range", injected.Load)
	poll.Until(t, 20*time.Second, "the records given again skipped", func() bool {
		return promtest.Value(t, reg, "hindsight_events_refetched_total", "partition", "0") == 30
	})
	b.Produce(t, livetest.Event("c", `{"type":"login"}`)) // offset 30: counted once
	poll.Until(t, 20*time.Second, "the next event counted", counted(31))
	// Once the group has committed offset 31, the daemon has handled every record the
	// log holds, the ones given again too: a count past 31 would show by then.
	waitCommitted(t, b, d, "the next event")
	if v, _ := d.Count(r.Key(), "c"); v.Count != 31 {
		t.Errorf("after the log went back below the consumer, customer c's count is %d, want 31", v.Count)
	}
}
