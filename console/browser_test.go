package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/live"
)

// skipSlowBrowser keeps the browser scenarios but one out of the fast tier (-short),
// where each headless browser takes a core for seconds; make test runs them.
// TestBrowserReadsWithTheToken stays: the page loads under its Content-Security-Policy,
// streams and shows the rules.
func skipSlowBrowser(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow: headless browser: make test runs it")
	}
}

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
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemon(t, "")
	evs := previewEvents() // c-1 has 4 login failures in history, c-2 2, c-3 1
	produce(t, d.b, evs)
	d.waitLake(t, int64(len(evs)))

	br := openBrowser(t, exe, windowSize{1440, 1000})
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

	// The same failures per first role in hourly windows, two alerting: the preview
	// replays the sample as live would and lists the windows that would fire. c-1's three
	// admin failures span 15 seconds, so whatever hour boundary falls among them, two
	// share a window: one window fires, at 2. c-3's failure is 72 hours older than c-1's
	// before it in their partition: late, as live would have it.
	br.do("group and window the rule",
		chromedp.Click(chromedp.CSS("#aggregation summary")),
		chromedp.SendKeys(chromedp.ID("group-by"), "$.actor.roles[0]"),
		chromedp.SendKeys(chromedp.ID("window-size"), "1h"),
		fill("#threshold", "2"),
	)
	br.waitText("the aggregation in words", "#threshold-what", "count per $.actor.roles[0] in 1h windows")
	br.do("preview the windowed rule", chromedp.Click(chromedp.ID("btn-preview")))
	windows := br.waitText("the would-fire windows", "#preview-windows tbody", "c-1")
	for _, want := range []string{`$.actor.roles[0] = "admin"`, "count 2", "2 events"} {
		if !strings.Contains(windows, want) {
			t.Errorf("would-fire windows %q lack %q", windows, want)
		}
	}
	if n, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#preview-windows tbody tr").length`)); err != nil || n != 1 {
		t.Errorf("%d would-fire windows (%v), want c-1's admin window alone", n, err)
	}
	if would := br.waitText("the windowed verdict", "#would-alert", "Would alert"); !strings.Contains(would, "1 customer (1 window at threshold ≥ 2): c-1") {
		t.Errorf("windowed preview says %q", would)
	}
	br.waitText("the late event", "#preview-window-stats", "1 late event")
	br.do("back to a plain count", fill("#group-by", ""), fill("#window-size", ""), fill("#threshold", "3"))
	br.waitText("the plain count again", "#aggregation-summary", "none")

	// Save, severity high: the daemon applies it and the rule goes back in time.
	br.do("save", fill("#severity", "high"), chromedp.Click(chromedp.ID("btn-save")))
	saved := br.waitText("the save status", "#save-result", "status ok")
	if !strings.Contains(saved, "upsert */login-failures version 1 at controls offset 0") {
		t.Errorf("save result %q", saved)
	}
	historyAlert := contract.AlertID("*", "login-failures", 1, "c-1", 3)
	row := br.waitText("the alert from history", fmt.Sprintf(`#alerts tr[data-alert=%q]`, historyAlert), "backfill")
	if !strings.Contains(row, "c-1") || !strings.Contains(row, "3 ≥ 3") { // the record of the third failure, as live's
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
	if !strings.Contains(row, "c-2") || !strings.Contains(row, "3 ≥ 3") || !strings.Contains(row, "v1 high") {
		t.Errorf("live alert row %q: want c-2 at 3 ≥ 3, severity high (chosen in the editor)", row)
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

	// Editing a rule with groups, windows and an aggregate, then saving it, must publish
	// the rule it was: the editor carries every field (limits, backfill and alert, which
	// it has no input for, as they were), and splits group_by only between paths.
	windowed := `{"id":"roles","scope":"*","version":2,"when":{"path":"$.type","op":"==","value":"login.failed"},` +
		`"aggregate":{"fn":"count_distinct","path":"$.actor.roles[0]"},"threshold":{"op":">","value":1},` +
		`"group_by":["$.customer","$['a','b']"],"window":{"size":"2m0s","every":"1m0s"},"time":"$.at","lateness":"30s",` +
		`"limits":{"max_distinct":50},"backfill":{"alert":true},"alert":{"severity":"critical"}}`
	back, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(() => { edit({scope: "*", id: "roles", version: 2, rule: %s}); return JSON.stringify(draft()); })()`, windowed)))
	if err != nil {
		t.Fatalf("editing a windowed rule: %v", err)
	}
	var want, drafted map[string]any
	if err := json.Unmarshal([]byte(windowed), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(back), &drafted); err != nil {
		t.Fatalf("draft %q: %v", back, err)
	}
	delete(want, "version") // the editor picks the next version
	if !reflect.DeepEqual(drafted, want) {
		t.Errorf("the editor turned\n %s\ninto\n %s", windowed, back)
	}
	br.checkNothingThrown()
}

// TestBrowserShowsOpenWindows drives the page in headless Chromium against a daemon
// with a rule kept per group and window and a plain count over the same events (those
// of TestWindowsListOpenWindowsPerCustomerAndGroup): the windowed rule's row counts each
// customer's largest window and opens its open windows, customer by customer and group by
// group, page by page, with a chart per customer and group; the plain count has no
// windows to open.
func TestBrowserShowsOpenWindows(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	// Two customers a page (--console-windows-page-size), so that the third is on the
	// next one.
	d := startDaemonWith(t, "", func(c *live.Config) { c.ConsoleWindowsPageSize = 2 })
	produceWindowEvents(t, d, "")

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	row := br.waitText("the windowed rule's counts", `#rules tr[data-key="*/bytes-per-user"]`, "3 customers with open windows")
	for _, want := range []string{"largest window's count:", "acme: 2", "globex: 1", "initech: 1", "Open windows"} {
		if !strings.Contains(row, want) {
			t.Errorf("windowed rule row %q lacks %q", row, want)
		}
	}
	plain := br.waitText("the plain count's counts", `#rules tr[data-key="*/downloads"]`, "3 customers, 6 events")
	if strings.Contains(plain, "Open windows") {
		t.Errorf("plain count row %q offers windows", plain)
	}

	rows := func() []string {
		t.Helper()
		got, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#windows tbody tr")).map((tr) =>
			Array.from(tr.cells).map((td) => td.textContent.replace(/\s+/g, " ").trim()).join(" | "))`))
		if err != nil {
			t.Fatalf("reading the windows table: %v", err)
		}
		return got
	}
	br.do("open the windows, two customers a page", chromedp.Click(chromedp.CSS(`button[data-windows="*/bytes-per-user"]`)))
	br.waitText("the panel's rule", "#windows-rule", "*/bytes-per-user")
	br.waitText("the first page", "#windows-page", "customers 1–2")
	// The group shows once for its windows (rowspan); the window's date only when it
	// differs from its start's.
	first := []string{
		"acme · largest window count 2 · 5 open windows",
		`$.user = "a" | 2025-12-31 23:55:00Z – 2026-01-01 00:05:00Z | 1 | sum 4 | —`,
		"2026-01-01 00:00:00Z – 00:10:00Z | 2 | sum 11 | alerted",
		"2026-01-01 00:05:00Z – 00:15:00Z | 1 | sum 7 | —",
		`$.user = "b" | 2025-12-31 23:55:00Z – 2026-01-01 00:05:00Z | 1 | sum 1 | —`,
		"2026-01-01 00:00:00Z – 00:10:00Z | 1 | sum 1 | —",
		"globex · largest window count 1 · 2 open windows",
		`$.user = "a" | 2025-12-31 23:55:00Z – 2026-01-01 00:05:00Z | 1 | sum 20 | alerted`,
		"2026-01-01 00:00:00Z – 00:10:00Z | 1 | sum 20 | alerted",
	}
	if got := rows(); !slices.Equal(got, first) {
		t.Errorf("first page:\n got %q\nwant %q", got, first)
	}
	// A chart per customer and group: its windows' sums by window start.
	charts, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`windowCharts.map((c) =>
		c.customer + " " + JSON.stringify(c.group) + " " + c.data[1].join(",") + " " + c.plot.data[1].length + " " +
		document.querySelectorAll("#windows .spark canvas").length)`))
	wantCharts := []string{`acme {"$.user":"a"} 4,11,7 3 3`, `acme {"$.user":"b"} 1,1 2 3`, `globex {"$.user":"a"} 20,20 2 3`}
	if err != nil || !slices.Equal(charts, wantCharts) {
		t.Errorf("window charts %q (%v), want %q", charts, err, wantCharts)
	}
	br.do("next page", chromedp.Click(chromedp.ID("windows-next")))
	br.waitText("the second page", "#windows-page", "customers 3–3")
	second := []string{
		"initech · largest window count 1 · 2 open windows",
		`$.user = "c" | 2026-01-01 00:00:00Z – 00:10:00Z | 1 | sum 2 | —`,
		"2026-01-01 00:05:00Z – 00:15:00Z | 1 | sum 2 | —",
	}
	if got := rows(); !slices.Equal(got, second) {
		t.Errorf("second page:\n got %q\nwant %q", got, second)
	}
	buttons, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]bool](`[document.querySelector("#windows-prev").disabled, document.querySelector("#windows-next").disabled]`))
	if err != nil || !slices.Equal(buttons, []bool{false, true}) {
		t.Errorf("on the last page, [previous, next] disabled = %v (%v), want [false true]", buttons, err)
	}
	br.do("previous page", chromedp.Click(chromedp.ID("windows-prev")))
	br.waitText("the first page again", "#windows-page", "customers 1–2")
	if got := rows(); !slices.Equal(got, first) {
		t.Errorf("first page again:\n got %q\nwant %q", got, first)
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

// windowSize is the size of a test's browser window, as Chromium's --window-size gave it.
type windowSize struct{ width, height int64 }

// chromiumOfTheTests is the one headless Chromium the browser tests share, started by
// the first of them and stopped when the test binary's tests end (stopChromium, from
// TestMain). A Chromium per test took seconds to start and stop on a loaded 2-core
// machine, which about 40 browser tests paid each; a tab in a browser context of its
// own (cookies, storage and cache apart, as a fresh profile had them) costs a fraction
// of that.
var chromiumOfTheTests struct {
	once sync.Once
	ctx  context.Context // the browser's own first tab: the tests' tabs are its children
	err  error
	stop func()
}

func sharedChromium(exe string) (context.Context, error) {
	s := &chromiumOfTheTests
	s.once.Do(func() {
		dir, err := os.MkdirTemp("", "hindsight-chromium-")
		if err != nil {
			s.err = fmt.Errorf("making the browser's profile directory: %w", err)
			return
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(exe),
			chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.UserDataDir(dir),
		)
		// The browser outlives any one test, so its own errors (a protocol message it
		// could not read) go to the binary's output rather than to a test's log.
		bctx, bcancel := chromedp.NewContext(actx, chromedp.WithErrorf(log.Printf))
		s.stop = func() {
			ctx, cancel := context.WithTimeout(bctx, 10*time.Second)
			defer cancel()
			if err := chromedp.Cancel(ctx); err != nil {
				log.Printf("closing the tests' headless Chromium: %v", err)
			}
			bcancel()
			acancel()
			if err := os.RemoveAll(dir); err != nil {
				log.Printf("removing the browser's profile directory: %v", err)
			}
		}
		if err := chromedp.Do(bctx); err != nil {
			s.err = fmt.Errorf("starting headless Chromium %s: %w", exe, err)
			return
		}
		s.ctx = bctx
	})
	return s.ctx, s.err
}

// stopChromium stops the shared Chromium, if a test started it.
func stopChromium() {
	if s := &chromiumOfTheTests; s.stop != nil {
		s.stop()
	}
}

// openBrowser opens a tab of the shared headless Chromium (exe), in a window of its own
// (a tab hidden behind another gets no animation frames) of the size given, else
// Chromium's default; the tab and its browser context are closed when the test ends.
func openBrowser(t *testing.T, exe string, size ...windowSize) *browser {
	t.Helper()
	shared, err := sharedChromium(exe)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(shared, 90*time.Second)
	t.Cleanup(cancel)
	bctx, bcancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("opening a tab in the tests' headless Chromium: %v", err)
	}
	for _, sz := range size {
		c := chromedp.FromContext(bctx)
		win, err := cdp.Call(bctx, c.Browser, cdpbrowser.GetWindowForTarget, cdpbrowser.GetWindowForTargetParams{TargetID: c.Target.TargetID})
		if err != nil {
			t.Fatalf("finding the tab's window: %v", err)
		}
		if _, err := cdp.Call(bctx, c.Browser, cdpbrowser.SetWindowBounds, cdpbrowser.SetWindowBoundsParams{
			WindowID: win.WindowID, Bounds: &cdpbrowser.Bounds{Width: sz.width, Height: sz.height},
		}); err != nil {
			t.Fatalf("sizing the tab's window to %dx%d: %v", sz.width, sz.height, err)
		}
	}

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
