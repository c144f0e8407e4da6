package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPageListsRecentAlertsNewestFirstOnFirstLoad: with an alerts topic of two
// partitions (alerts of several instances), the first page opened after the daemon
// started lists the recent alerts newest first, as GET /v1/console/alerts does. The
// backlog came as new alerts, partition after partition, each put on top (found by a
// review helper).
func TestPageListsRecentAlertsNewestFirstOnFirstLoad(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	adm := kadm.NewClient(b.Client(t))
	if _, err := adm.CreateTopic(context.Background(), 2, -1, nil, "alerts2"); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	base := time.Now().UTC().Add(-time.Hour)
	for i := range 10 {
		at := base.Add(time.Duration(i) * time.Second)
		a := contract.Alert{AlertID: fmt.Sprintf("a-%d", i), RuleID: "r", Scope: "*", Version: 1, Customer: "c-9", Count: 1,
			Threshold: rule.AtLeast(1), EventTime: at, Source: "live"}
		v, _ := json.Marshal(a)
		// Alternate partitions: a-0, a-2, … on partition 0; a-1, a-3, … on 1.
		recs = append(recs, &kgo.Record{Topic: "alerts2", Partition: int32(i % 2), Value: v, Timestamp: at})
	}
	cl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Topics.Alerts = "alerts2"; c.ShutdownTimeout = 3 * time.Second })
	url := func(p string) string { return "http://" + d.HTTPAddr() + p }

	br := openBrowser(t, exe)
	br.do("open the console", chromedp.Navigate(url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	shown, err := chromedp.Run(br.ctx, chromedp.Poll[[]string](`(() => { const ids = Array.from(document.querySelectorAll("#alerts tbody tr")).map((tr) => tr.dataset.alert); return ids.length >= 10 ? ids : null; })()`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("waiting for 10 alerts: %v\n%s", err, pageText(br.ctx))
	}
	var listed console.AlertsResponse
	call(t, "GET", url("/v1/console/alerts"), "", nil, &listed)
	var api []string
	for _, a := range listed.Alerts {
		api = append(api, a.AlertID)
	}
	want := []string{"a-9", "a-8", "a-7", "a-6", "a-5", "a-4", "a-3", "a-2", "a-1", "a-0"}
	if !slices.Equal(shown, want) {
		t.Errorf("the page lists the alerts as\n %v\nwant newest first\n %v\n(GET /v1/console/alerts: %v)", shown, want, api)
	}
}
