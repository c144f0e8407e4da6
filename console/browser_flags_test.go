package console_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPageWindowsFollowTheFlags: the page's windows panel pages by the daemon's
// --console-windows-page-size, so a --console-windows-max-page-size below the page's
// old fixed 20 still serves it (it was answered 400 on every click).
func TestPageWindowsFollowTheFlags(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	d := startDaemonWith(t, "", func(c *live.Config) {
		c.ConsoleWindowsPageSize, c.ConsoleWindowsMaxPageSize = 2, 10
	})
	produceWindowEvents(t, d, "")

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the windowed rule's counts", `#rules tr[data-key="*/bytes-per-user"]`, "3 customers with open windows")
	br.do("open the windows", chromedp.Click(chromedp.CSS(`button[data-windows="*/bytes-per-user"]`)))
	// The answer: a page, or an error in the status line.
	js := `(() => { const p = document.querySelector("#windows-page"), s = document.querySelector("#windows-status");
	  if (s && s.className === "err") return "error: " + s.textContent;
	  if (p && p.textContent.includes("customers")) return "page: " + p.textContent;
	  return null; })()`
	got, err := chromedp.Run(br.ctx, chromedp.Poll[string](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("waiting for the windows panel: %v\n%s", err, pageText(br.ctx))
	}
	if got = strings.Join(strings.Fields(got), " "); got != "page: customers 1–2" {
		t.Errorf("windows panel shows %q; want the first page of --console-windows-page-size=2 customers", got)
	}
}

// TestPageShowsConsoleRecentAlerts: the page lists as many alerts as the console
// keeps (--console-recent-alerts), not a fixed 200.
func TestPageShowsConsoleRecentAlerts(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	d := startDaemonWith(t, "", func(c *live.Config) { c.ConsoleRecentAlerts = 300 })
	var recs []*kgo.Record
	base := time.Now().UTC().Add(-time.Hour)
	for i := range 250 {
		a := contract.Alert{AlertID: fmt.Sprintf("a-%d", i), RuleID: "r", Scope: "*", Version: 1, Customer: "c-9", Count: 1,
			Threshold: rule.AtLeast(1), EventTime: base.Add(time.Duration(i) * time.Second), Source: "live"}
		v, _ := json.Marshal(a)
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: v, Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	d.b.Produce(t, recs...)
	var got console.AlertsResponse
	poll.Until(t, 30*time.Second, "the console keeping 250 alerts", func() bool {
		call(t, "GET", d.url("/v1/console/alerts"), "", nil, &got)
		return len(got.Alerts) == 250
	})

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	n, err := chromedp.Run(br.ctx, chromedp.Poll[int](`(() => { const n = document.querySelectorAll("#alerts tbody tr").length; return n >= 250 ? n : null; })()`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil || n != 250 {
		t.Errorf("the page lists %d alerts (%v); the console keeps and sent %d", n, err, len(got.Alerts))
	}
}
