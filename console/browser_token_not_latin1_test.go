package console_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserTokenBeyondLatin1: the daemon takes any API token without white space at
// its ends (live.Config.Validate), one of Cyrillic letters too, and a script (net/http,
// curl) authorizes with it. The console's page sends the token in an Authorization
// header with fetch, which throws for a header value beyond ISO-8859-1: typed into the
// page, such a token never reaches the daemon, and the page can neither read nor
// write. Either the daemon refuses such a token at start, or the page sends it; here
// the page is left saying "API token needed" with the right token typed.
func TestBrowserTokenBeyondLatin1(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	const token = "секрет-токен"
	d := startDaemon(t, token)
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), token, draft(loginRule), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving a rule with the token from Go: %d %+v", resp.StatusCode, s)
	}

	br := openBrowser(t, exe)
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the page asking for the token", "#conn", "API token needed")
	br.do("type the token", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const e = document.querySelector("#token"); e.value = %q; e.dispatchEvent(new Event("change", {bubbles: true})); })()`, token)))
	br.waitText("the live connection with the right token typed", "#conn", "live")
}
