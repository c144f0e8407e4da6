package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserVersionUnreadableOrZeroRefused: the version box is a number input. Text
// the browser lets in but cannot read as a number (1e, -, 1-2, typed or pasted) leaves
// its value empty, with validity.badInput set, and the page read the empty value as no version: the rule
// was saved as the next version, which was not typed, and the page said "Saved". A
// typed 0 (or -0) went as version 0, which the console takes as no version, with the
// same outcome. The page refuses both itself, naming the problem under the box, and
// sends nothing: no rule is saved. (+1, 1,5 and 0x10 never reach the box: Chromium
// drops the +, the comma and the x, typed or pasted, and the box shows 1, 15 and 010,
// which are sent as shown.)
func TestBrowserVersionUnreadableOrZeroRefused(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	// One tab for the cases, each on a page loaded afresh: a tab took seconds to open
	// on a loaded machine, and nothing of a case outlives its page but the rule saved,
	// which is what each case looks for.
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	for i, c := range []struct {
		typed    string
		paste    bool // put in as one insertion (a paste), not key by key
		badInput bool
		want     string
	}{
		{"1e", false, true, "version: holds text that is no number"},
		{"-", false, true, "version: holds text that is no number"},
		{"1-2", true, true, "version: holds text that is no number"},
		{"0", false, false, "version: is 0; want a whole number from 1"},
		{"-0", false, false, "version: is -0; want a whole number from 1"},
		{"0.0", false, false, "version: is 0.0; want a whole number from 1"},
	} {
		br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
		br.do("write the rule",
			chromedp.SendKeys(chromedp.ID("rule-id"), fmt.Sprintf("unreadable-version-%d", i)),
			chromedp.SendKeys(chromedp.CSS(".cond-path"), "$.user"),
			chromedp.SendKeys(chromedp.ID("threshold"), "3"),
		)
		if c.paste {
			br.do("paste the version", chromedp.Focus(chromedp.ID("version")),
				chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
					_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: c.typed})
					return chromedp.Void{}, err
				}))
		} else {
			br.do("type the version", chromedp.SendKeys(chromedp.ID("version"), c.typed))
		}
		// What the browser made of the keys: the case shows what it says only if the
		// box reads as the case expects.
		box, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(() => { const v = document.getElementById("version"); return JSON.stringify([v.value, v.validity.badInput]); })()`))
		if want := fmt.Sprintf("[%q,%v]", map[bool]string{true: "", false: c.typed}[c.badInput], c.badInput); err != nil || box != want {
			t.Fatalf("typed %q: the box's [value, badInput] is %s (%v), want %s", c.typed, box, err, want)
		}
		br.do("save", chromedp.Click(chromedp.ID("btn-save")))
		answer := br.waitText("the save's answer", "#save-result:not([hidden]) h3", "")
		problem, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(document.querySelector('[data-err="version"]') || {}).textContent || ""`))
		if err != nil || !strings.Contains(problem, c.want) {
			t.Errorf("version %q typed: the save answered %q, the version's problem %q (%v), want it to say %q", c.typed, answer, problem, err, c.want)
		}
		var rules console.RulesResponse
		call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
		for _, r := range rules.Rules {
			if r.ID != fmt.Sprintf("unreadable-version-%d", i) {
				continue
			}
			t.Errorf("version %q typed: rule %s/%s version %d saved (the page said %q), want none", c.typed, r.Scope, r.ID, r.Version, answer)
		}
		br.checkNothingThrown()
	}
}
