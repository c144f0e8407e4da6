package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserConditionOnBigIntegerSentWithItsDigits: a condition value typed as an
// integer above 2^53 (9007199254740993) goes to the daemon with its digits, which
// refuses it (such ids are compared as strings), rather than as the double
// 9007199254740992: a rule on that neighbouring id, which the daemon would take.
func TestBrowserConditionOnBigIntegerSentWithItsDigits(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("write the rule",
		chromedp.SendKeys(chromedp.ID("rule-id"), "big-user"),
		chromedp.SendKeys(chromedp.CSS(".cond-path"), "$.user"),
		chromedp.SendKeys(chromedp.CSS(".cond-value"), "9007199254740993"),
		chromedp.SendKeys(chromedp.ID("threshold"), "3"),
	)
	br.waitText("the value's hint", ".cond-hint", "number 9007199254740993")
	br.waitText("the draft refused", "#validity", "problem")
	br.do("save", chromedp.Click(chromedp.ID("btn-save")))
	br.waitText("the value's problem", ".cond-err", "9007199254740993 is beyond")
	br.checkNothingThrown()
}
