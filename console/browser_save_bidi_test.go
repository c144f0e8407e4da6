package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// wordsLeftToRight is a script for the page: for each [selector, words], whether the
// characters of words, in the text node of the selector's element that holds them, are
// laid out left to right (each starts right of the one before), as a sentence the page
// writes must be read.
const wordsLeftToRight = `((pairs) => pairs.map(([sel, words]) => {
	const e = document.querySelector(sel);
	if (!e) return sel + " missing";
	const w = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
	while (w.nextNode()) {
		const tn = w.currentNode, at = tn.data.indexOf(words);
		if (at < 0) continue;
		const r = document.createRange(), xs = [];
		for (let i = at; i < at + words.length; i++) { r.setStart(tn, i); r.setEnd(tn, i + 1); xs.push(r.getBoundingClientRect().left); }
		return words + (xs.every((x, i) => i === 0 || x > xs[i - 1]) ? " left to right" : " reversed");
	}
	return words + " not found in " + e.textContent;
}))`

// TestBrowserSaveOfAScopeWithAnOverrideKeepsTheLineReadable: a rule's scope is a
// customer id, which may hold U+202E (RIGHT-TO-LEFT OVERRIDE). The save's answer line
// ("upsert <scope>/<id> version 1 at controls offset N") and the editor's title
// ("Edit rule <scope>/<id> (active version 1)") put the key inside the sentence, and
// the override reversed the rest of it: "controls offset" and "active version" read
// backwards. The key is isolated (bdi), as the customer ids elsewhere.
func TestBrowserSaveOfAScopeWithAnOverrideKeepsTheLineReadable(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("write the rule",
		chromedp.SendKeys(chromedp.ID("rule-id"), "evil-scope"),
		chromedp.Evaluate[chromedp.Void](`(() => { document.querySelector("#scope-customer").checked = true;
			const s = document.querySelector("#scope-value"); s.value = "evil\u202e";
			s.dispatchEvent(new Event("input", {bubbles: true})); })()`),
		chromedp.SendKeys(chromedp.CSS(".cond-path"), "$.user"),
		chromedp.SendKeys(chromedp.ID("threshold"), "3"),
	)
	br.do("save", chromedp.Click(chromedp.ID("btn-save")))
	br.waitText("the save applied", "#save-status", "Saved")
	br.waitText("the save's line", "#save-result", "controls offset")
	br.waitText("the editor's title", "#editor-title", "active version")
	got, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](wordsLeftToRight+
		`([["#save-result h3 + div", "version 1 at controls offset"], ["#editor-title", "(active version 1)"]])`))
	if want := "version 1 at controls offset left to right, (active version 1) left to right"; err != nil || strings.Join(got, ", ") != want {
		t.Errorf("beside scope %q, the save's line and the editor's title are laid out %q (%v), want %q", "evil\u202e", got, err, want)
	}
	br.checkNothingThrown()
}
