package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserProblemPositionOfAPathWithAnOverrideKeepsTheColumnReadable: a problem
// positioned in a path shows the path, then "column N: " and the daemon's message. A
// path holding U+202E (RIGHT-TO-LEFT OVERRIDE), pasted with a customer's id, reversed
// all that followed it on the line. The path shown is isolated (bdi).
func TestBrowserProblemPositionOfAPathWithAnOverrideKeepsTheColumnReadable(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("write the path", chromedp.SendKeys(chromedp.ID("rule-id"), "g"),
		chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector(".cond-path"); e.value = "$[\u202e\u{1F600}]";
			e.dispatchEvent(new Event("input", {bubbles: true})); })()`))
	br.waitText("the positioned problem", ".cond-err", "column 3")
	got, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](wordsLeftToRight+`([[".cond-err", " column 3: "]])`))
	if want := " column 3:  left to right"; err != nil || strings.Join(got, ", ") != want {
		t.Errorf("beside the path %q, the problem's column is laid out %q (%v), want %q", "$[\u202e\U0001F600]", got, err, want)
	}
	br.checkNothingThrown()
}
