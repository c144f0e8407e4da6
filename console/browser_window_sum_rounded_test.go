package console_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// bigSumRule sums $.bytes per customer and user in tumbling 10-minute windows.
const bigSumRule = `{"id":"big-bytes","scope":"*","when":{"path":"$.type","op":"==","value":"download"},` +
	`"aggregate":{"fn":"sum","path":"$.bytes"},"group_by":["$.user"],"window":{"size":"10m"},` +
	`"time":"$.ts","lateness":"1h","threshold":%s}`

// bigWindowsDaemon saves the rule (threshold th), produces events (user JSON, bytes
// JSON) for customer acme and waits until the API's windows count every event (one
// window per group: they fall in one 10-minute window).
func bigWindowsDaemon(t *testing.T, th string, events [][2]string) (*daemon, console.WindowsResponse) {
	t.Helper()
	d := startDaemon(t, "")
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(fmt.Sprintf(bigSumRule, th)), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving the rule: %d %+v", resp.StatusCode, s)
	}
	for i, e := range events {
		js := fmt.Sprintf(`{"type":"download","user":%s,"bytes":%s,"ts":%q}`, e[0], e[1], windowsBase.Add(time.Duration(i+1)*time.Minute).Format(time.RFC3339))
		d.b.Produce(t, livetest.Event("acme", js))
	}
	var page console.WindowsResponse
	poll.Until(t, 30*time.Second, "the windows listed", func() bool {
		page = console.WindowsResponse{}
		call(t, "GET", d.url("/v1/console/windows?scope=*&id=big-bytes"), "", nil, &page)
		var n int64
		for _, c := range page.Counts {
			for _, w := range c.Windows {
				n += w.Count
			}
		}
		return n == int64(len(events)) && len(page.Counts) == 1 && page.Counts[0].Status == contract.RuleLive
	})
	return d, page
}

// windowsPanel opens the rule's windows panel in the page and returns its rows' text.
func windowsPanel(t *testing.T, d *daemon) []string {
	t.Helper()
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the rule's row", `#rules tr[data-key="*/big-bytes"]`, "Open windows")
	br.do("open the windows", chromedp.Click(chromedp.CSS(`button[data-windows="*/big-bytes"]`)))
	br.waitText("the first page", "#windows-page", "customers 1–1")
	rows, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#windows tbody tr")).map((tr) =>
		Array.from(tr.cells).map((td) => td.textContent.replace(/\s+/g, " ").trim()).join(" | "))`))
	if err != nil {
		t.Fatalf("reading the windows table: %v", err)
	}
	br.checkNothingThrown()
	return rows
}

// TestBrowserWindowSumShownAsTheAPIReturnsIt: a window whose sum is 1234567890123 (13
// significant digits, bytes of a terabyte) crossed its threshold of the same value;
// the API says value 1234567890123, and the page must show that, not a rounded sum
// below the threshold.
func TestBrowserWindowSumShownAsTheAPIReturnsIt(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d, page := bigWindowsDaemon(t, "1234567890123", [][2]string{{`"a"`, "1234567890123"}})
	w := page.Counts[0].Windows[0]
	if w.Value == nil || *w.Value != 1234567890123 || !w.Alerted {
		t.Fatalf("API window %+v, want value 1234567890123, alerted", w)
	}
	rows := windowsPanel(t, d)
	joined := strings.Join(rows, "\n")
	if !strings.Contains(joined, "sum 1234567890123 |") {
		t.Errorf("the windows panel shows\n%s\nwant the API's value \"sum 1234567890123\"", joined)
	}
}
