package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPreviewPlainCountPerPartitionAsLive: live keeps a plain count per partition and
// checks its threshold per partition (docs/architecture.md, "State and scale"); the
// backtest replays each partition on its own and agrees. A customer whose events sit in
// two partitions (a partition added to the topic, a producer with another partitioner)
// does not reach a threshold of 2 with one event in each: live raises no alert, the
// backtest counts no firing. The preview of the same rule over the same events says the
// customer would alert: it sums the customer's matches over partitions.
func TestPreviewPlainCountPerPartitionAsLive(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	const ruleJSON = `{"id":"two-failures","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(ruleJSON), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving the rule: %d %+v", resp.StatusCode, s)
	}
	// One failure of acme in each partition, placed by hand.
	cl := d.b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	var recs []*kgo.Record
	for p := range int32(2) {
		e := event{customer: "acme", typ: "login.failed", at: at.Add(time.Duration(p) * time.Second)}
		r := e.record()
		r.Partition = p
		recs = append(recs, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	d.waitLake(t, 2)

	// Live: both events counted (one per partition), no alert.
	key := rule.Key{Scope: "*", ID: "two-failures"}
	poll.Until(t, 30*time.Second, "live to count both events", func() bool {
		v, ok := d.Count(key, "acme")
		return ok && v.Count == 2
	})
	// An alert raised for the events would be on the topic once their offsets are
	// committed: a commit records only what everything produced for was delivered.
	poll.Until(t, 30*time.Second, "the events' offsets committed", func() bool {
		return d.b.GroupCommitted(t, d.State().Group, "events") == kafkatest.ReadThrough(recs)
	})
	liveAlerts := d.b.TopicRecords(t, "alerts")

	// The backtest of the same rule over the same events.
	var bt contract.Backtest
	if resp := call(t, "POST", d.url("/v1/console/backtest"), "", draft(ruleJSON), &bt); resp.StatusCode != 200 {
		t.Fatalf("backtest: status %d", resp.StatusCode)
	}
	firings := 0
	for _, r := range bt.Rules {
		firings += r.Firings
	}

	// The preview.
	var p console.PreviewResult
	if resp := call(t, "POST", d.url("/v1/console/preview"), "", draft(ruleJSON), &p); resp.StatusCode != 200 {
		t.Fatalf("preview: status %d", resp.StatusCode)
	}
	t.Logf("live alerts %d, backtest firings %d (events %d), preview matches %d would_alert %v", liveAlerts, firings, bt.Events, p.Matches, p.WouldAlert)
	if p.Sample.Events != 2 || p.Matches != 2 {
		t.Fatalf("preview sampled %d events, %d matches; want 2 and 2", p.Sample.Events, p.Matches)
	}
	if liveAlerts != 0 || firings != 0 {
		t.Fatalf("live sent %d alerts, backtest counts %d firings: want none (threshold per partition)", liveAlerts, firings)
	}
	if len(p.WouldAlert) != 0 {
		t.Errorf("the preview says %v would alert; live raised no alert and the backtest counts no firing for the same events", p.WouldAlert)
	}
}
