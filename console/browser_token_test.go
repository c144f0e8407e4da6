package console_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserReadsWithTheToken drives the page in headless Chromium against a daemon
// whose reads need the API token: the page says it needs the token, and once the user
// types it, the live stream connects with it and shows the rules. Under the page's
// strict Content-Security-Policy nothing is refused and nothing throws.
func TestBrowserReadsWithTheToken(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	const token = "s3cret"
	d := startDaemon(t, token)
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), token, draft(loginRule), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving a rule: %d %+v", resp.StatusCode, s)
	}

	br := openBrowser(t, exe)
	// Every document records what its Content-Security-Policy refused.
	watchCSP := chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__refused = []; document.addEventListener("securitypolicyviolation", (e) => window.__refused.push(e.violatedDirective + " " + e.blockedURI));`,
		})
		return chromedp.Void{}, err
	})

	br.do("open the console", watchCSP, chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the page asking for the token", "#conn", "API token needed")
	br.waitText("the policy line", "#policy", "reads need the token too")
	br.do("type the token", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const e = document.querySelector("#token"); e.value = %q; e.dispatchEvent(new Event("change", {bubbles: true})); })()`, token)))
	br.waitText("the live connection", "#conn", "live")
	br.waitText("the saved rule, read with the token", `#rules tr[data-key="*/login-failures"]`, "live")

	refused, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`window.__refused || ["the CSP watcher did not run"]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 0 {
		t.Errorf("the Content-Security-Policy refused %v", refused)
	}
	br.checkNothingThrown()
}
