package console_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserReadsWithTheToken drives the page in headless Chromium against a daemon
// whose reads need the API token: the page says it needs the token, and once the user
// types it, the live stream connects with it and shows the rules. Under the page's
// strict Content-Security-Policy nothing is refused and nothing throws.
func TestBrowserReadsWithTheToken(t *testing.T) {
	exe := chromium(t)
	const token = "s3cret"
	d := startDaemon(t, token)
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), token, draft(loginRule), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving a rule: %d %+v", resp.StatusCode, s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	defer bcancel()

	var (
		mu         sync.Mutex
		exceptions []string
	)
	thrown := chromedp.Events(bctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range thrown {
			if err != nil {
				return
			}
			mu.Lock()
			exceptions = append(exceptions, ev.ExceptionDetails.Text)
			mu.Unlock()
		}
	}()
	// Every document records what its Content-Security-Policy refused.
	watchCSP := chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__refused = []; document.addEventListener("securitypolicyviolation", (e) => window.__refused.push(e.violatedDirective + " " + e.blockedURI));`,
		})
		return chromedp.Void{}, err
	})
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserDo(t, bctx, what, steps...)
	}
	waitText := func(what, sel, want string) string { t.Helper(); return browserWaitText(t, bctx, what, sel, want) }

	do("open the console", watchCSP, chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	waitText("the page asking for the token", "#conn", "API token needed")
	waitText("the policy line", "#policy", "reads need the token too")
	do("type the token", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const e = document.querySelector("#token"); e.value = %q; e.dispatchEvent(new Event("change", {bubbles: true})); })()`, token)))
	waitText("the live connection", "#conn", "live")
	waitText("the saved rule, read with the token", `#rules tr[data-key="*/login-failures"]`, "live")

	refused, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.__refused || ["the CSP watcher did not run"]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 0 {
		t.Errorf("the Content-Security-Policy refused %v", refused)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(exceptions) > 0 {
		t.Errorf("the page threw: %v", exceptions)
	}
}
