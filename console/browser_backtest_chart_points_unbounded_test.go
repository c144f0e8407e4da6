package console_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserBacktestChartPointsAreBounded: record times are any a producer stamps. A
// backtest of the whole lake in which one customer fired on 1970-01-02 and another an
// hour ago charted, in the console, a point for every day in between: firingsChart
// (static/editor.js) filled each day from the first firing to the last with a bar,
// about 20,000 of them here, 3.65 million for years 0001 to 9999. `hindsight
// backtest --out` bounds its chart of the same per_day to maxChartPoints (400),
// summing days into weeks, months or years, because a point a day made charts of
// hundreds of MB; the console's chart must be as bounded. The test counts the points
// the page's uPlot instance (backtestChart) holds.
func TestBrowserBacktestChartPointsAreBounded(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	const maxChartPoints = 400 // cmd/hindsight's bound on a backtest chart's points
	d := startDaemon(t, "")
	evs := []event{
		{customer: "cust-old", typ: "x", at: time.Date(1970, 1, 2, 12, 0, 0, 0, time.UTC)},
		{customer: "cust-new", typ: "x", at: time.Now().Add(-time.Hour).Truncate(time.Millisecond)},
	}
	produce(t, d.b, evs)
	d.waitLake(t, int64(len(evs)))

	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	fill := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel, value))
	}
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("write the rule",
		chromedp.SendKeys(chromedp.ID("rule-id"), "any-x"),
		chromedp.SendKeys(chromedp.CSS(".cond-path"), "$.type"),
		chromedp.SendKeys(chromedp.CSS(".cond-value"), "x"),
		fill("#threshold", "1"),
		fill("#backtest-days", "0"),
	)
	br.waitText("the rule to validate", "#validity", "valid rule")
	br.do("backtest", chromedp.Click(chromedp.ID("btn-backtest")))
	br.waitText("the backtest", "#backtest-summary", "Would have fired 2 times")
	points, err := chromedp.Run(br.ctx, chromedp.Poll[int](`backtestChart ? backtestChart.data[0].length : null`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if points > maxChartPoints {
		t.Errorf("the console's backtest chart holds %d points for 2 firings 57 years apart; `hindsight backtest` draws at most %d (maxChartPoints)", points, maxChartPoints)
	}
	br.checkNothingThrown()
}
