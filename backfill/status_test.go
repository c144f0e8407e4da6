package backfill_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// startOnLake starts a daemon that backfills from the lake at url without archiving
// into it (the test wrote it), retrying failed jobs quickly.
func startOnLake(t *testing.T, b *kafkatest.Broker, url string) *live.Daemon {
	t.Helper()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.NoBackfill = url, true, false
		c.BackfillCacheDir = t.TempDir()
		c.BackfillMinBackoff, c.BackfillMaxBackoff = 20*time.Millisecond, 100*time.Millisecond
	})
	return d
}

// ruleView fetches /v1/rules from d and returns the view of rule id.
func ruleView(t *testing.T, d *live.Daemon, id string) (contract.RuleView, bool) {
	t.Helper()
	var l contract.RuleList
	if code := livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/v1/rules", &l); code != 200 {
		t.Fatalf("GET /v1/rules: %d", code)
	}
	for _, v := range l.Rules {
		if v.ID == id {
			return v, true
		}
	}
	return contract.RuleView{}, false
}

func produceEvents(t *testing.T, b *kafkatest.Broker, n int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "events", Partition: 0, Key: []byte(fmt.Sprintf("c-%d", i%2)), Value: []byte(`{"a":"admin"}`), Timestamp: time.Now()}
	}
	return b.Produce(t, recs...)
}

// TestRuleShowsUnreadableLakeFile: a lake file DuckDB cannot read (an older archiver
// wrote a non-UTF-8 key into it) must not leave a rule "backfilling" forever with
// nothing to show: /v1/rules says error, names the file in the job's last_error, and
// the job keeps retrying with backoff.
func TestRuleShowsUnreadableLakeFile(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt, dir := lakehousetest.FileBucket(t)
	files := lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {
		lakehousetest.LegacyRows(0, "c-0", `{"a":"admin"}`, `{"a":"admin"}`),
		lakehousetest.LegacyRows(2, "c-\xff", `{"a":"admin"}`, `{"a":"admin"}`),
	}})
	produceEvents(t, b, 10)
	d := startOnLake(t, b, "file://"+dir)
	// The rule comes after the events were consumed, so its history is backfilled.
	poll.Until(t, 30*time.Second, "events consumed", func() bool { return d.EventsSeen() >= 10 })
	b.Produce(t, livetest.Upsert(t, backfill.VerdictRules(t)[0]))
	var v contract.RuleView
	if !poll.Within(60*time.Second, func() bool {
		v, _ = ruleView(t, d, "v-0")
		return v.Status == contract.RuleError && len(v.Backfill) == 1 && v.Backfill[0].Attempts >= 3 &&
			strings.Contains(v.Backfill[0].LastError, files[1].Path)
	}) {
		t.Fatalf("after 60s the rule view is %+v: want status error, the job retrying, its last error naming %s", v, files[1].Path)
	}
	t.Logf("status %s, attempts %d, last error %s", v.Status, v.Backfill[0].Attempts, v.Backfill[0].LastError)
}

// TestRuleShowsIncompleteHistory: Kafka's retention dropped offsets the lake never
// held (it ends at 9, Kafka now starts at 20): the backfill counts what exists and
// /v1/rules shows the rule in error with the missing range, instead of a count that
// silently lacks them.
func TestRuleShowsIncompleteHistory(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt, dir := lakehousetest.FileBucket(t)
	lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {lakehousetest.LegacyRows(0, "c-0", strings.Split(strings.Repeat(`{"a":"admin"}|`, 10), "|")[:10]...)}})
	produceEvents(t, b, 30)
	adm := kadm.NewClient(b.Client(t))
	del := kadm.Offsets{}
	del.AddOffset("events", 0, 20, -1)
	if resp, err := adm.DeleteRecords(context.Background(), del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
	d := startOnLake(t, b, "file://"+dir)
	// The rule comes after the events Kafka still has (20-29) were consumed.
	poll.Until(t, 30*time.Second, "events consumed", func() bool { return d.EventsSeen() >= 10 })
	b.Produce(t, livetest.Upsert(t, backfill.VerdictRules(t)[0]))
	var v contract.RuleView
	poll.Until(t, 60*time.Second, "backfill finished", func() bool {
		v, _ = ruleView(t, d, "v-0")
		return len(v.StartOffsets) == 1 && len(v.Backfill) == 0
	})
	if v.Status != contract.RuleError || len(v.Incomplete) != 1 || v.Incomplete[0].From != 10 || v.Incomplete[0].To != 19 {
		t.Fatalf("rule view %+v: want status error and offsets 10-19 of partition 0 incomplete", v)
	}
	// The rest is counted: 10 lake rows of c-0, and offsets 20-29 from Kafka.
	c0, _ := d.Count(backfill.VerdictRules(t)[0].Key(), "c-0")
	c1, _ := d.Count(backfill.VerdictRules(t)[0].Key(), "c-1")
	if c0.Count != 10+5 || c1.Count != 5 {
		t.Errorf("counts c-0 %d, c-1 %d; want 15 and 5", c0.Count, c1.Count)
	}
	t.Logf("incomplete: %+v", v.Incomplete)
}
