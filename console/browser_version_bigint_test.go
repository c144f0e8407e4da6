package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserVersionPastTwoTo53SentWithItsDigits: a version typed above 2^53
// (9007199254740993) was read with Number, which rounds it to 9007199254740992, the
// largest version the daemon takes: the rule was saved, as another version than the
// one typed, and the page said "Saved". The page sends the digits typed, and the
// daemon refuses the version, naming it.
func TestBrowserVersionPastTwoTo53SentWithItsDigits(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("write the rule",
		chromedp.SendKeys(chromedp.ID("rule-id"), "big-version"),
		chromedp.SendKeys(chromedp.CSS(".cond-path"), "$.user"),
		chromedp.SendKeys(chromedp.ID("threshold"), "3"),
		chromedp.SendKeys(chromedp.ID("version"), "9007199254740993"),
	)
	br.do("save", chromedp.Click(chromedp.ID("btn-save")))
	status := br.waitText("the save's answer", "#save-status", "status")
	problem, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector('[data-err="version"]').textContent`))
	if want := "version: 9007199254740993 is beyond 9007199254740992 (2^53), the largest integer JSON numbers hold exactly everywhere; a larger version could never be replaced"; err != nil || problem != want {
		t.Errorf("the save answered %q, the version's problem %q (%v), want %q", status, problem, err, want)
	}
	var rules console.RulesResponse
	call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
	for _, r := range rules.Rules {
		t.Errorf("rule %s/%s version %d saved (the page said %q), want none", r.Scope, r.ID, r.Version, status)
	}
	br.checkNothingThrown()
}
