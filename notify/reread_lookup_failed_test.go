package notify_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRereadLookupFailedNotTakenForTheLookBack: the broker answers the restarted
// stage's lookup of its partition's offset by time (--notify-remember-for before now)
// with an error, so nothing of the partition is read again: neither the muted firing
// older than the look-back nor the one within it is remembered, and neither is sent as
// its mute is deleted. The partition was noted as read again from the look-back's start
// all the same, and the old firing's resolve counted notify_remember_for_seconds (and
// advised raising --notify-remember-for, which changes nothing here) while the newer
// one's said nothing. Now the failed lookup is logged, naming the partition, the limit
// is not counted, and both resolves are logged as possibly following a firing not sent.
func TestRereadLookupFailedNotTakenForTheLookBack(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	var lookups atomic.Int64
	c := b.Cluster
	c.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		lr := req.(*kmsg.ListOffsetsRequest)
		byTime := false
		for _, tp := range lr.Topics {
			for _, p := range tp.Partitions {
				byTime = byTime || tp.Topic == "alerts" && p.Timestamp >= 0
			}
		}
		if !byTime {
			return nil, nil, false
		}
		lookups.Add(1)
		resp := lr.ResponseKind().(*kmsg.ListOffsetsResponse)
		for _, tp := range lr.Topics {
			rt := kmsg.NewListOffsetsResponseTopic()
			rt.Topic = tp.Topic
			for _, p := range tp.Partitions {
				rp := kmsg.NewListOffsetsResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, kerr.UnsupportedForMessageFormat.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	recs := controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops"}))
	recs[1].Timestamp = time.Now().Add(-3 * time.Hour)
	b.Produce(t, recs...)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-reread-lookup-failed",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	st, stop := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	firedAt := map[string]time.Time{"old": time.Now().Add(-2 * time.Hour), "new": time.Now()}
	for _, id := range []string{"old", "new"} {
		a := windowedAlert(id, "c-1", firedAt[id])
		a.Muted = true
		v, _ := json.Marshal(a)
		// One produce each: a batch is found by its newest record's time.
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v, Timestamp: firedAt[id]})
	}
	poll.Until(t, 10*time.Second, "both muted firings handled", func() bool {
		return b.GroupCommitted(t, "notify-reread-lookup-failed", "alerts") == 2
	})
	stop()

	logs := &lockedLog{}
	reg := prometheus.NewRegistry()
	cfg.RememberFor, cfg.Registerer = time.Hour, reg
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the restarted stage's log:\n%s", logs.String())
		}
	})
	st2, _ := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the mute folded by the restarted stage", func() bool { return st2.Registry().Muted("r", "c-1", time.Now()) != nil })
	lv, _ := json.Marshal(alertFor("a2", "c-2", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: lv})
	poll.Until(t, 10*time.Second, "a later alert delivered by the restarted stage", func() bool {
		return slices.Contains(hook.delivered(), "a2:firing")
	})
	if lookups.Load() == 0 {
		t.Fatal("the restarted stage never looked its partition's offset up by time")
	}
	if got := logs.String(); !strings.Contains(got, "could not read its partitions' alerts again") || !strings.Contains(got, "partition 0") {
		t.Errorf("the failed lookup of partition 0 not logged as the partition not read again")
	}
	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "maint"}))...)
	// Resolves read before the delete is folded are judged under the mute, and not sent.
	poll.Until(t, 10*time.Second, "the mute's delete folded", func() bool { return st2.Registry().Muted("r", "c-1", time.Now()) == nil })
	for _, id := range []string{"old", "new"} {
		res := windowedAlert(id, "c-1", firedAt[id])
		res.Status = contract.StatusResolved
		rv, _ := json.Marshal(res)
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	}
	poll.Until(t, 10*time.Second, "both resolves delivered", func() bool {
		got := hook.delivered()
		return slices.Contains(got, "old:resolved") && slices.Contains(got, "new:resolved")
	})
	if got := hook.delivered(); slices.Contains(got, "old:firing") || slices.Contains(got, "new:firing") {
		t.Errorf("a firing sent though nothing was read again: %v", got)
	}
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRememberFor); n != 0 {
		t.Errorf("notify_remember_for_seconds reached %v times, want 0: the partition was not read again at all, which no longer look-back changes", n)
	}
	for _, id := range []string{"old", "new"} {
		if got := logs.String(); !strings.Contains(got, "could not be read again as it was assigned") || !strings.Contains(got, "alert_id="+id) {
			t.Errorf("the resolve of %s not logged as possibly following a firing not sent", id)
		}
	}
}

// lockedLog is a log's text, written by the stage's goroutines and read by the test.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
