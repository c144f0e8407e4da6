package console_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserVersionWithAFractionNotRoundedToAnother: a version typed with a fraction
// that a double does not hold (2.00000000000000001, or 4503599627370496.5, where doubles
// are whole numbers) was read with Number as the integer next to it, a safe one, and
// the rule was saved as version 2 or 4503599627370496, which was not typed. The page
// sends the text typed, and the daemon refuses it as no whole number.
func TestBrowserVersionWithAFractionNotRoundedToAnother(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	// One tab for both versions, each typed on a page loaded afresh (a tab took seconds
	// to open on a loaded machine).
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	for i, typed := range []string{"2.00000000000000001", "4503599627370496.5"} {
		br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
		br.do("write the rule",
			chromedp.SendKeys(chromedp.ID("rule-id"), fmt.Sprintf("fraction-version-%d", i)),
			chromedp.SendKeys(chromedp.CSS(".cond-path"), "$.user"),
			chromedp.SendKeys(chromedp.ID("threshold"), "3"),
			chromedp.SendKeys(chromedp.ID("version"), typed),
		)
		br.do("save", chromedp.Click(chromedp.ID("btn-save")))
		status := br.waitText("the save's answer", "#save-status", "status")
		problem, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(document.querySelector('[data-err="version"]') || {}).textContent || ""`))
		if want := "is " + typed + "; want a whole number"; err != nil || !strings.Contains(problem, want) {
			t.Errorf("version %s: the save answered %q, the version's problem %q (%v), want it to say %q", typed, status, problem, err, want)
		}
		var rules console.RulesResponse
		call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
		for _, r := range rules.Rules {
			t.Errorf("version %s typed: rule %s/%s version %d saved (the page said %q), want none", typed, r.Scope, r.ID, r.Version, status)
		}
		br.checkNothingThrown()
	}
}
