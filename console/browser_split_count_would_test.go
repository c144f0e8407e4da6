package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBrowserSplitCountIsNotMarkedAsReachingTheThreshold: live keeps a plain count per
// partition and checks its threshold per partition (docs/architecture.md; the preview
// was mended to agree, TestPreviewPlainCountPerPartitionAsLive). The rules table shows a
// customer's count summed over partitions and marks it "would" (bold: reaches the
// threshold, rules.js reaches) whenever that sum is >= the threshold. A customer with
// one failure in each of two partitions, threshold 2: live raises no alert, yet the
// page marks "acme: 2" as reaching the threshold.
func TestBrowserSplitCountIsNotMarkedAsReachingTheThreshold(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemon(t, "")
	const ruleJSON = `{"id":"two-failures","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(ruleJSON), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving the rule: %d %+v", resp.StatusCode, s)
	}
	cl := d.b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	var recs []*kgo.Record
	for p := range int32(2) {
		r := event{customer: "acme", typ: "login.failed", at: at.Add(time.Duration(p) * time.Second)}.record()
		r.Partition = p
		recs = append(recs, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	key := rule.Key{Scope: "*", ID: "two-failures"}
	poll.Until(t, 30*time.Second, "live to count both events", func() bool {
		v, ok := d.Count(key, "acme")
		return ok && v.Count == 2
	})

	br := openBrowser(t, exe)
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	row := `#rules tr[data-key="*/two-failures"] td.tops`
	br.waitText("acme's count in the rules table", row, "acme: 2")
	class, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll('#rules tr[data-key="*/two-failures"] td.tops span')).filter((e) => e.textContent.startsWith("acme")).map((e) => e.className).join(",")`))
	if err != nil {
		t.Fatal(err)
	}
	alerts := d.b.TopicRecords(t, "alerts")
	if alerts != 0 {
		t.Fatalf("live sent %d alerts; want none (threshold per partition, one event in each)", alerts)
	}
	if class == "would" {
		t.Errorf("the rules table marks acme's count (1 per partition, summed to 2) %q, as reaching the threshold of 2; live raised no alert for it", class)
	}
}
