package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserProblemOfAFieldNamedWithAQuoteIsShown: the page found the place of a
// problem with a CSS selector built from its field's name ([data-err="<field>"]), and a
// name holding a quote, a backslash or a bracket made querySelector throw: no problem
// after it was shown at all, and the validity line kept its last answer. The daemon's
// fields name the rule's own keys, but the page must not break on what it is sent: a
// field it has no place for is shown under the rule, as any other.
func TestBrowserProblemOfAFieldNamedWithAQuoteIsShown(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	type shown struct {
		Count int    `json:"count"`
		Error string `json:"error"`
		Rule  string `json:"rule"`
		Scope string `json:"scope"`
	}
	got, err := chromedp.Run(br.ctx, chromedp.Evaluate[shown](`(() => {
		state.showAll = true;
		let count = -1, error = "";
		try {
			count = showProblems([
				{ field: 'we"ird', message: "quoted" },
				{ field: "back\\slash]", message: "bracketed" },
				{ field: "scope", message: "is required" },
			]);
		} catch (e) { error = String(e); }
		return { count, error, rule: document.querySelector('[data-err="rule"]').textContent,
			scope: document.querySelector('[data-err="scope"]').textContent };
	})()`))
	want := shown{Count: 3, Rule: `we"ird: quotedback\slash]: bracketed`, Scope: "scope: is required"}
	if err != nil || got != want {
		t.Errorf("problems of fields we\"ird, back\\slash] and scope shown as %+v (%v), want %+v", got, err, want)
	}
}
