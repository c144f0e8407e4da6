package console_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestBrowserGroupPastTheDoubleRangeIsNotNull: the engine keeps a group value beyond a
// double's range ($.user 1e400) as 1e999, apart from the group of events without the
// path (null). The page read 1e999 as Infinity, which JSON.stringify writes null: the
// windows panel showed both groups as `$.user = null`, and, adjacent, merged them into
// one group and one chart. The page keeps such a number's text as it does a 64-bit id's
// (parseJSON, BigDigits).
func TestBrowserGroupPastTheDoubleRangeIsNotNull(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemon(t, "")
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(bytesRule), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving %s: %d %+v", bytesRule, resp.StatusCode, s)
	}
	ts := windowsBase.Format(time.RFC3339)
	d.b.Produce(t,
		livetest.Event("acme", fmt.Sprintf(`{"type":"download","user":1e400,"ts":%q,"bytes":1}`, ts)),
		livetest.Event("acme", fmt.Sprintf(`{"type":"download","ts":%q,"bytes":1}`, ts)))
	poll.Until(t, 30*time.Second, "acme's four windows", func() bool {
		var page contract.CountsPage
		call(t, "GET", d.url("/v1/console/windows?scope=*&id=bytes-per-user"), "", nil, &page)
		return len(page.Counts) == 1 && page.Counts[0].WindowsTotal == 4
	})

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the windowed rule", `#rules tr[data-key="*/bytes-per-user"]`, "Open windows")
	br.do("open the windows", chromedp.Click(chromedp.CSS(`button[data-windows="*/bytes-per-user"]`)))
	br.waitText("acme's windows", "#windows tbody", "4 open windows")
	groups, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#windows tbody td.mono")).map((td) => td.textContent)`))
	slices.Sort(groups)
	if want := []string{`$.user = 1e999`, `$.user = null`}; err != nil || !slices.Equal(groups, want) {
		t.Errorf("the windows panel shows the groups %q (%v), want %q", groups, err, want)
	}
	charts, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`windowCharts.length`))
	if err != nil || charts != 2 {
		t.Errorf("the windows panel draws %d charts (%v), want one per group, 2", charts, err)
	}
	br.checkNothingThrown()
}
