package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserProblemPositionKeepsACharacterWhole: the daemon positions a problem at a
// character outside the Basic Multilingual Plane ("$[😀]": column 3, the emoji), which a
// JavaScript string holds as two UTF-16 units. The page marked one unit of it: the mark
// held a lone high surrogate and the text after it began with the lone low one, both
// drawn as replacement characters, the emoji the user typed nowhere to be seen. The
// mark now holds the whole character.
func TestBrowserProblemPositionKeepsACharacterWhole(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("write the path", chromedp.SendKeys(chromedp.ID("rule-id"), "g"),
		chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector(".cond-path"); e.value = "$[\u{1F600}]";
			e.dispatchEvent(new Event("input", {bubbles: true})); })()`))
	br.waitText("the positioned problem", ".cond-err", "column 3")
	type shown struct {
		Mark  string `json:"mark"`
		Code  string `json:"code"`
		Whole bool   `json:"whole"` // no lone surrogate in the code's text nodes
	}
	got, err := chromedp.Run(br.ctx, chromedp.Evaluate[shown](`(() => {
		const code = document.querySelector(".cond-err code");
		const texts = [];
		const w = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
		while (w.nextNode()) texts.push(w.currentNode.data);
		return { mark: code.querySelector("mark").textContent, code: code.textContent, whole: texts.every((s) => s.isWellFormed()) };
	})()`))
	if err != nil || got.Mark != "\U0001F600" || got.Code != "$[\U0001F600]" || !got.Whole {
		t.Errorf("the problem at column 3 of $[\U0001F600] is shown as mark %+q, code %+q, well formed %v (%v), want the mark on the whole emoji, every text well formed", got.Mark, got.Code, got.Whole, err)
	}
	br.checkNothingThrown()
}
