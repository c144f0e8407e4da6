package console_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
)

// chromium finds the headless browser: $HINDSIGHT_CHROMIUM, else Debian's chromium (or
// another Chrome) on PATH. Without one the test fails: `make test` installs it.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HINDSIGHT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the browser test needs headless Chromium, and none is on PATH: run `make test-deps` " +
		"(it installs Debian's chromium and chromium-driver), or set HINDSIGHT_CHROMIUM to a Chrome binary")
	return ""
}

// screenshotPath is where the browser test also leaves its screenshot for people to
// look at: $HINDSIGHT_SCREENSHOT, else hindsight-console.png in the temp dir.
func screenshotPath() string {
	if p := os.Getenv("HINDSIGHT_SCREENSHOT"); p != "" {
		return p
	}
	return filepath.Join(os.TempDir(), "hindsight-console.png")
}

// TestBrowserAuthorPreviewSaveAndWatchAlerts drives the console page in headless
// Chromium against a real daemon: a user types a rule (and sees a positioned error
// while the path is incomplete), previews it over the lake's recent events, saves it,
// and watches the rule count history and the alerts arrive — one from history
// (backfill), one from a live event.
func TestBrowserAuthorPreviewSaveAndWatchAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: headless browser; runs in make test")
	}
	exe := chromium(t)
	d := startDaemon(t, "")
	evs := previewEvents() // c-1 has 4 login failures in history, c-2 2, c-3 1
	produce(t, d.b, evs)
	d.waitLake(t, int64(len(evs)))

	br := openBrowser(t, exe, chromedp.WindowSize(1440, 1000))
	// fill replaces an input's value as typing would (input event).
	fill := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); })()`, sel, value))
	}

	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the live connection", "#conn", "live")

	// Type a rule; the path is incomplete at first and the engine says where.
	br.do("type the rule",
		chromedp.SendKeys(chromedp.ID("rule-id"), "login-failures"),
		chromedp.SendKeys(chromedp.ID("rule-name"), "Login failures"),
		chromedp.SendKeys(chromedp.CSS(".cond-path"), "$.type["),
		chromedp.SendKeys(chromedp.CSS(".cond-value"), "login.failed"),
		fill("#threshold", "3"),
	)
	_, perr := jsonpath.Parse("$.type[")
	var se *jsonpath.SyntaxError
	if !errors.As(perr, &se) {
		t.Fatalf("jsonpath.Parse($.type[) = %v", perr)
	}
	got := br.waitText("the positioned path error", ".cond-err", fmt.Sprintf("column %d", se.Column()))
	if !strings.Contains(got, "path:") || !strings.Contains(got, se.Msg) {
		t.Errorf("path error shown as %q, want the engine's message %q at column %d", got, se.Msg, se.Column())
	}
	br.do("finish the path", chromedp.SendKeys(chromedp.CSS(".cond-path"), kb.Backspace))
	br.waitText("the rule to validate", "#validity", "valid rule")
	if n, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll(".cond-err div").length`)); err != nil || n != 0 {
		t.Errorf("%d path errors left after the fix (%v)", n, err)
	}

	// Preview over the lake's recent events: c-1 would alert (4 failures ≥ 3).
	br.do("preview", chromedp.Click(chromedp.ID("btn-preview")))
	would := br.waitText("the preview", "#would-alert", "Would alert")
	if !strings.Contains(would, "1 customer") || !strings.Contains(would, "c-1") || strings.Contains(would, "c-2") {
		t.Errorf("preview says %q, want c-1 alone", would)
	}
	if head := br.waitText("the preview summary", "#preview h3", "match"); !strings.Contains(head, "7 of 16") {
		t.Errorf("preview headline %q, want 7 of 16 events matching", head)
	}
	br.waitText("the preview per customer", "#preview-customers", "c-2")

	// Save: the daemon applies it and the rule goes back in time.
	br.do("save", chromedp.Click(chromedp.ID("btn-save")))
	saved := br.waitText("the save status", "#save-result", "status ok")
	if !strings.Contains(saved, "upsert */login-failures version 1 at controls offset 0") {
		t.Errorf("save result %q", saved)
	}
	historyAlert := contract.AlertID("*", "login-failures", 1, "c-1", 3)
	row := br.waitText("the alert from history", fmt.Sprintf(`#alerts tr[data-alert=%q]`, historyAlert), "backfill")
	if !strings.Contains(row, "c-1") || !strings.Contains(row, "4 ≥ 3") { // history is added at once: 4 failures
		t.Errorf("history alert row %q", row)
	}
	rules := br.waitText("the rule, live, with its counts", `#rules tr[data-key="*/login-failures"]`, "live")
	for _, want := range []string{"3 customers, 7 events", "c-1: 4", "c-2: 2", "c-3: 1"} {
		if !strings.Contains(rules, want) {
			t.Errorf("rule row %q lacks %q", rules, want)
		}
	}

	// A new event takes c-2 to the threshold: a live alert arrives on the page.
	produce(t, d.b, []event{{customer: "c-2", typ: "login.failed", roles: []string{"user"}, at: time.Now()}})
	liveAlert := contract.AlertID("*", "login-failures", 1, "c-2", 3)
	row = br.waitText("the live alert", fmt.Sprintf(`#alerts tr[data-alert=%q]`, liveAlert), "live")
	if !strings.Contains(row, "c-2") || !strings.Contains(row, "3 ≥ 3") {
		t.Errorf("live alert row %q", row)
	}
	br.waitText("c-2's count", `#rules tr[data-key="*/login-failures"]`, "c-2: 3")
	if first := br.waitText("the newest alert on top", "#alerts tbody tr", "c-2"); !strings.Contains(first, "live") {
		t.Errorf("newest alert row %q", first)
	}

	png, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	for _, p := range []string{filepath.Join(t.ArtifactDir(), "console.png"), screenshotPath()} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", p, len(png))
	}
	br.checkNothingThrown()
}

// browser is a headless Chromium tab of the browser tests. It records what the page's
// script throws, which fails the test (checkNothingThrown).
type browser struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	exceptions []string
}

// openBrowser starts Chromium (exe) headless with the options every browser test needs,
// and extra; it is closed when the test ends.
func openBrowser(t *testing.T, exe string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(bcancel)

	br := &browser{t: t, ctx: bctx}
	thrown := chromedp.Events(bctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range thrown {
			if err != nil {
				return
			}
			msg := ev.ExceptionDetails.Text
			if ex := ev.ExceptionDetails.Exception; ex != nil {
				msg += " " + ex.Description
			}
			br.mu.Lock()
			br.exceptions = append(br.exceptions, msg)
			br.mu.Unlock()
		}
	}()
	return br
}

// do runs steps in the page, failing the test with what the page shows.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage:\n%s", what, err, pageText(b.ctx))
	}
}

// waitText waits until the element sel exists and its text contains want, and returns
// that text with its spaces folded.
func (b *browser) waitText(what, sel, want string) string {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && e.textContent.includes(%q) ? e.textContent : null; })()`, sel, want)
	s, err := chromedp.Run(b.ctx, chromedp.Poll[string](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		b.t.Fatalf("waiting for %s (%s containing %q): %v\npage:\n%s", what, sel, want, err, pageText(b.ctx))
	}
	return strings.Join(strings.Fields(s), " ")
}

// checkNothingThrown fails the test if the page's script threw an uncaught error.
func (b *browser) checkNothingThrown() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.exceptions) > 0 {
		b.t.Errorf("the page threw: %v", b.exceptions)
	}
}

// pageText is the page's visible text, for failure messages.
func pageText(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	return s
}
