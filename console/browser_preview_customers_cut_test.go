package console_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserPreviewSaysItsCustomersAreCut: a preview lists at most 100 customers and
// says how many there are in all (customers_total, API.md). The page shows the would-fire
// list's cut ("The newest 100 of N are listed"), but not the customers': with 101
// customers matching, it shows a table of 100 and nowhere says that one more matched, so
// the table reads as every customer with matches.
func TestBrowserPreviewSaysItsCustomersAreCut(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemon(t, "")
	const customers = 101
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	var evs []event
	for i := range customers {
		for j := range 2 { // 2 events each: 202 matches, so that "101" is only the customers' total
			evs = append(evs, event{customer: fmt.Sprintf("c-%03d", i), typ: "login.failed", at: at.Add(time.Duration(2*i+j) * time.Millisecond)})
		}
	}
	produce(t, d.b, evs)
	d.waitLake(t, int64(len(evs)))

	br := openBrowser(t, exe, windowSize{1440, 1000})
	fill := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); })()`, sel, value))
	}
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("type the rule",
		chromedp.SendKeys(chromedp.ID("rule-id"), "login-failures"),
		chromedp.SendKeys(chromedp.CSS(".cond-path"), "$.type"),
		chromedp.SendKeys(chromedp.CSS(".cond-value"), "login.failed"),
		fill("#threshold", "3"),
	)
	br.waitText("the rule to validate", "#validity", "valid rule")
	br.do("preview", chromedp.Click(chromedp.ID("btn-preview")))
	br.waitText("the preview", "#preview h3", "202 of 202")
	br.waitText("the preview per customer", "#preview-customers", "c-000")
	rows, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#preview-customers tbody tr").length`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](
		`(() => { const c = document.querySelector("#preview").cloneNode(true); c.querySelectorAll("table, ol").forEach((e) => e.remove()); return c.textContent; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if rows < customers && !strings.Contains(text, fmt.Sprint(customers)) {
		t.Errorf("the preview lists %d of %d customers with matches and never says there are %d (customers_total); it says, besides the table and the examples:\n%s",
			rows, customers, customers, text)
	}
}
