package console_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserBacktestSaysWhenCustomersAreCut: a backtest in which 12 customers would
// have fired lists the 10 most firing (contract.BacktestTop). The page must say that
// more customers fired than its table lists, as the preview does
// (#preview-customers-cut); a table of 10 with nothing said reads as "these are all".
func TestBrowserBacktestSaysWhenCustomersAreCut(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	const customers = 12
	var evs []event
	at := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range customers {
		evs = append(evs, event{customer: fmt.Sprintf("cust-%02d", i), typ: "x", at: at.Add(time.Duration(i) * time.Second)})
	}
	produce(t, d.b, evs)
	d.waitLake(t, customers)

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
	head := br.waitText("the backtest", "#backtest-summary", "Would have fired")
	if want := fmt.Sprintf("Would have fired %d times", customers); !strings.Contains(head, want) {
		t.Fatalf("backtest says %q, want %q", head, want)
	}
	rows, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#backtest-customers tbody tr").length`))
	if err != nil {
		t.Fatal(err)
	}
	box := br.waitText("the backtest box", "#backtest", "Would have fired")
	if rows < customers && !strings.Contains(box, fmt.Sprint(customers)+" customers") {
		t.Errorf("the backtest lists %d of the %d customers that fired and does not say so:\n%s", rows, customers, box)
	}
	br.checkNothingThrown()
}
