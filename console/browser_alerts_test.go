package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBrowserAlertsView drives the alerts view in headless Chromium: a rule that
// resolves and notifies two webhooks (one answers, one always fails) fires and
// resolves; the page shows the firing and resolved records, each delivery's state
// (delivered, undelivered), a chart of alerts over time with every record in it, the
// destinations, and a mute added and removed from the page.
func TestBrowserAlertsView(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	var okHits atomic.Int64
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { okHits.Add(1) }))
	t.Cleanup(ok.Close)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	t.Cleanup(bad.Close)
	d := startDaemonWith(t, "", func(c *live.Config) {
		c.Notify.Sender = notify.SenderConfig{AllowPrivate: true, MaxAttempts: 2, Timeout: time.Second,
			InitialBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	})
	r := livetest.ParseRule(t, `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"group_by":["$.user"],
		"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"severity":"high","resolve":true,"notify":["hook","broken"]}}`)
	var recs []*kgo.Record
	for _, c := range []*rule.Control{
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hook", Type: rule.DestWebhook, URL: ok.URL}),
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "broken", Type: rule.DestWebhook, URL: bad.URL}),
		rule.Upsert(r),
	} {
		v, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: "controls", Key: []byte(c.RecordKey()), Value: v})
	}
	d.b.Produce(t, recs...)
	poll.Until(t, 30*time.Second, "the rule live", func() bool { _, ok := d.Count(r.Key(), ""); return ok })
	ts := func(sec int) string { return time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC).Format(time.RFC3339) }
	d.b.Produce(t,
		livetest.Event("c-1", fmt.Sprintf(`{"type":"login.failed","user":"a","ts":%q}`, ts(1))),
		livetest.Event("c-1", fmt.Sprintf(`{"type":"login.failed","user":"a","ts":%q}`, ts(2))),  // fires
		livetest.Event("c-1", fmt.Sprintf(`{"type":"login.failed","user":"b","ts":%q}`, ts(30))), // resolves a
	)
	d.b.WaitTopicRecords(t, "alerts", 2, 30*time.Second)
	d.b.WaitTopicRecords(t, "alerts.undelivered", 2, 30*time.Second)

	br := openBrowser(t, exe, windowSize{1440, 1400})
	br.do("open the console", chromedp.EmulateViewport(1440, 1400), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the resolved record", "#alerts tbody", "resolved")
	br.waitText("the deliveries", "#alerts tbody", "undelivered")
	type view struct {
		Rows      []string `json:"rows"`
		Canvases  int      `json:"canvases"`
		Charted   int      `json:"charted"`
		Dests     []string `json:"dests"`
		Delivered int      `json:"delivered"`
	}
	got, err := chromedp.Run(br.ctx, chromedp.Evaluate[view](`({
		rows: [...document.querySelectorAll("#alerts tbody tr")].map((tr) => tr.textContent),
		canvases: document.querySelectorAll("#alerts-chart canvas").length,
		charted: alertsChart ? alertsChart.data[1].reduce((a, b) => a + b, 0) + alertsChart.data[2].reduce((a, b) => a + b, 0) : 0,
		dests: [...document.querySelectorAll("#destinations tbody tr")].map((tr) => tr.dataset.destination),
		delivered: document.querySelectorAll("#alerts tbody .dlv-delivered").length})`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 2 || got.Canvases != 1 || got.Charted != 2 || got.Delivered != 2 || strings.Join(got.Dests, " ") != "*/broken */hook" {
		t.Errorf("alerts view %+v: want 2 rows (firing and resolved), a chart of 2 alerts, 2 delivered to hook, destinations */broken and */hook", got)
	}
	for _, row := range got.Rows {
		for _, want := range []string{"bursts", "c-1", "delivered hook", "undelivered broken ×2"} {
			if !strings.Contains(row, want) {
				t.Errorf("alert row %q lacks %q", row, want)
			}
		}
	}
	if n := okHits.Load(); n != 2 {
		t.Errorf("the hook received %d requests, want 2 (firing and resolved)", n)
	}

	// Each rule's row has a sparkline of its counts over time, with what the rules
	// stream said so far.
	type spark struct {
		Canvases int     `json:"canvases"`
		Points   int     `json:"points"`
		Last     float64 `json:"last"`
	}
	sp, err := chromedp.Run(br.ctx, chromedp.Evaluate[spark](`(() => {
		const h = sparkHistory.get("*/bursts@1") || [[], []];
		return {canvases: document.querySelectorAll('#rules tr[data-key="*/bursts"] .spark canvas').length, points: h[0].length, last: h[1][h[1].length - 1] || 0};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if sp.Canvases != 1 || sp.Points < 1 || sp.Last != 1 {
		t.Errorf("sparkline %+v: want one canvas charting at least one sample, the last saying 1 customer with open windows", sp)
	}

	// A mute from the page, then removed from it.
	br.do("mute c-9", chromedp.SendKeys(chromedp.ID("mute-id"), "quiet"), chromedp.SetValue(chromedp.ID("mute-scope"), "c-9"),
		chromedp.SendKeys(chromedp.ID("mute-reason"), "maintenance"), chromedp.Click(chromedp.ID("mute-add")))
	br.waitText("the mute saved", "#mute-status", "Muted: c-9/quiet")
	poll.Until(t, 10*time.Second, "the daemon to fold the mute", func() bool { return len(d.Registry().Mutes()) == 1 })
	br.waitText("the mute listed", "#mutes tbody", "maintenance")
	br.do("unmute", chromedp.Click(chromedp.CSS(`#mutes tbody tr[data-mute="c-9/quiet"] button`)))
	br.waitText("the mute removed", "#mute-status", "Unmuted: c-9/quiet")
	poll.Until(t, 10*time.Second, "the daemon to drop the mute", func() bool { return len(d.Registry().Mutes()) == 0 })
	br.checkNothingThrown()
}
