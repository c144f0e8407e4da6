package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
)

// holdFirst makes the page's first fetch of a path ending in suffix wait for
// window.__release() before it answers (a slow answer: a heavier draft, a busy lake);
// window.__heldDone becomes true once its body was read and the page's handler of it,
// which runs on at once, has run. A fetch the page aborted meanwhile (a preview it
// replaced) fails at release, before its answer or while reading its body, as it would
// have at once, and __heldDone becomes true once the page's handler of that failure
// has run.
func holdFirst(suffix string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
  const orig = window.fetch; let n = 0;
  window.__heldDone = false;
  window.fetch = function (url, opts) {
    const p = orig.call(this, url, opts);
    if (!String(url).endsWith(%q) || n++ !== 0) return p;
    p.catch(() => {}); // failing before release is handled at release, not unhandled
    return new Promise((resolve, reject) => { window.__release = () => p.then((resp) => {
      const text = resp.text.bind(resp);
      resp.text = () => text().finally(() => { setTimeout(() => { window.__heldDone = true; }, 0); });
      resolve(resp);
    }, (err) => { reject(err); setTimeout(() => { window.__heldDone = true; }, 0); }); });
  };
})()`, suffix))
}

// TestBrowserPreviewShowsTheLatestDraft: a user previews a draft (threshold 3), then
// changes the threshold to 100 and previews again before the first answer came. The
// second preview answers first; when the first, slower answer arrives, the page must
// keep showing the preview of the draft in the form (threshold 100), not replace it
// with that of the draft the user left. (The page now aborts the first preview when it
// asks for the second, so the first answer fails rather than comes: it must show
// nothing either, not an error.)
func TestBrowserPreviewShowsTheLatestDraft(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	d := startDaemon(t, "")
	evs := previewEvents() // c-1 has 4 login failures
	produce(t, d.b, evs)
	d.waitLake(t, int64(len(evs)))

	br := openBrowser(t, exe, windowSize{1440, 1000})
	fill := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); })()`, sel, value))
	}
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("type the rule",
		fill("#rule-id", "login-failures"),
		fill(".cond-path", "$.type"),
		fill(".cond-value", "login.failed"),
		fill("#threshold", "3"),
		holdFirst("/preview"),
	)
	br.do("preview at threshold 3 (its answer held)", chromedp.Click(chromedp.ID("btn-preview")))
	br.do("threshold 100, preview again", fill("#threshold", "100"), chromedp.Click(chromedp.ID("btn-preview")))
	br.waitText("the preview of threshold 100", "#would-alert", "≥ 100")
	br.do("the first answer arrives", chromedp.Evaluate[chromedp.Void](`window.__release()`))
	if _, err := chromedp.Run(br.ctx, chromedp.Poll[bool](`window.__heldDone || null`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the first preview's answer was not read: %v", err)
	}
	shown, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#would-alert").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	form, _ := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#threshold").value`))
	if !strings.Contains(shown, "≥ 100") {
		t.Errorf("the form's threshold is %s, and the preview says %q: the answer of the draft at threshold 3, which came last", form, shown)
	}
	br.checkNothingThrown()
}

// TestBrowserPendingMuteIsNotSaidNotMuted: a mute whose control is published but
// whose status the daemon did not report in time (202 pending, as a save's) is in
// force once the daemon folds it; the page must not tell the user "Not muted" — a
// save in the same state says "Published, not confirmed yet".
func TestBrowserPendingMuteIsNotSaidNotMuted(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	// A 3s write timeout: a write waits about 2.7s for its status, not 10s.
	d := startDaemonWith(t, "", func(c *live.Config) { c.HTTPWriteTimeout, c.PreviewTimeout = 3*time.Second, time.Second })
	dropStatuses(t, d)

	br := openBrowser(t, exe, windowSize{1440, 1000})
	fill := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); })()`, sel, value))
	}
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("mute-id")))
	br.do("mute everything for 2h", fill("#mute-id", "maintenance"), fill("#mute-reason", "db upgrade"), chromedp.Click(chromedp.ID("mute-add")))
	status := br.waitText("the mute's outcome", "#mute-status", "ute") // Muted, Not muted, Mute published
	var ms console.MutesResponse
	poll.Until(t, 30*time.Second, "the mute in force", func() bool {
		call(t, "GET", d.url("/v1/console/mutes"), "", nil, &ms)
		return len(ms.Mutes) == 1 && ms.Mutes[0].ID == "maintenance"
	})
	br.waitText("the mute listed on the page", `#mutes tr[data-mute="*/maintenance"]`, "db upgrade")
	if strings.HasPrefix(status, "Not muted") {
		t.Errorf("the page says %q, while the mute was published and is in force (GET /v1/console/mutes: %s/%s)", status, ms.Mutes[0].Scope, ms.Mutes[0].ID)
	}
	br.checkNothingThrown()
}

// TestBrowserSaveThatGetsNoAnswerSaysSo: a user saves a rule (ok), changes it and saves
// again while the daemon is down (a restart): the request fails without an answer.
// The page must say the save failed, not keep showing the first save's "Saved: the
// daemon applied it" under the changed draft.
func TestBrowserSaveThatGetsNoAnswerSaysSo(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	d := startDaemon(t, "")
	br := openBrowser(t, exe, windowSize{1440, 1000})
	fill := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); })()`, sel, value))
	}
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("type and save the rule",
		fill("#rule-id", "login-failures"), fill(".cond-path", "$.type"), fill(".cond-value", "login.failed"), fill("#threshold", "3"),
		chromedp.Click(chromedp.ID("btn-save")))
	br.waitText("the first save", "#save-result", "status ok")

	d.stop()
	poll.Until(t, 30*time.Second, "the daemon's listener closed", func() bool {
		resp, err := http.Get(d.url("/healthz"))
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
	// window.__settled: the save's request ended (here: failed) and the page's handling of it ran.
	br.do("change the threshold and save again", fill("#threshold", "5"), chromedp.Evaluate[chromedp.Void](`(() => {
  const orig = window.fetch;
  window.__settled = false;
  window.fetch = function (url, opts) {
    const p = orig.call(this, url, opts);
    if (String(url).endsWith("/v1/console/rules") && opts && opts.method === "POST")
      p.catch(() => {}).finally(() => setTimeout(() => { window.__settled = true; }, 0));
    return p;
  };
})()`), chromedp.Click(chromedp.ID("btn-save")))
	if _, err := chromedp.Run(br.ctx, chromedp.Poll[bool](`window.__settled || null`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the second save's request did not end: %v", err)
	}
	shown, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#save-result").hidden ? "(hidden)" : document.querySelector("#save-result").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	shown = strings.Join(strings.Fields(shown), " ")
	if strings.Contains(shown, "status ok") || !strings.Contains(strings.ToLower(shown), "fail") {
		t.Errorf("after a save that got no answer (threshold 5, daemon down), the page shows %q", shown)
	}
	br.mu.Lock()
	t.Logf("the page threw: %v", br.exceptions)
	br.mu.Unlock()
}
