package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowserBacktestChart drives the editor in headless Chromium: a user writes a
// windowed rule, backtests it over all history and sees how often it would have fired
// — the count an uninterrupted live run gives — with a uPlot chart of firings per day
// (the vendored asset, under the page's Content-Security-Policy, nothing refused), and
// would be told which offsets it could not count.
func TestBrowserBacktestChart(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemon(t, "")
	firings, _ := backtestOracle(t, produceBacktestHistory(t, d), time.Time{})

	br := openBrowser(t, exe, windowSize{1440, 1000})
	watchCSP := chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__refused = []; document.addEventListener("securitypolicyviolation", (e) => window.__refused.push(e.violatedDirective + " " + e.blockedURI));`,
		})
		return chromedp.Void{}, err
	})
	fill := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel, value))
	}
	br.do("open the console", watchCSP, chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("write the rule",
		chromedp.SendKeys(chromedp.ID("rule-id"), "hourly-failures"),
		chromedp.SendKeys(chromedp.CSS(".cond-path"), "$.type"),
		chromedp.SendKeys(chromedp.CSS(".cond-value"), "login.failed"),
		chromedp.Click(chromedp.CSS("#aggregation summary")),
		chromedp.SendKeys(chromedp.ID("window-size"), "1h"),
		fill("#threshold", "3"),
		fill("#backtest-days", "0"),
	)
	br.waitText("the rule to validate", "#validity", "valid rule")
	br.do("backtest", chromedp.Click(chromedp.ID("btn-backtest")))
	head := br.waitText("the backtest", "#backtest-summary", "Would have fired")
	if want := fmt.Sprintf("Would have fired %d times over the whole lake", firings); head != want {
		t.Errorf("backtest says %q, want %q (an uninterrupted run's firings)", head, want)
	}
	type chart struct {
		Canvases int `json:"canvases"`
		Days     int `json:"days"`
		Firings  int `json:"firings"`
	}
	got, err := chromedp.Run(br.ctx, chromedp.Evaluate[chart](`({canvases: document.querySelectorAll("#backtest-chart canvas").length,
		days: backtestChart ? backtestChart.data[0].length : 0, firings: backtestChart ? backtestChart.data[1].reduce((a, b) => a + b, 0) : 0})`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Canvases != 1 || got.Firings != firings || got.Days < 3 {
		t.Errorf("chart %+v: want one canvas charting %d firings over at least 3 days", got, firings)
	}
	br.waitText("the customers table", "#backtest-customers", "c-")

	png, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(t.ArtifactDir(), "console-backtest.png")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err == nil && os.WriteFile(p, png, 0o644) == nil {
		t.Logf("screenshot: %s (%d bytes)", p, len(png))
	}
	// Offsets a backtest could not count are named, with why.
	note, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`missingNote([{partition: 2, from: 0, to: 39, reason: "dropped"},
		{partition: 3, from: 50, to: 79, reason: "deleted"}]).textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "partition 2 offsets 0–39 (dropped); partition 3 offsets 50–79 (deleted)."; !strings.Contains(note, want) {
		t.Errorf("missing note %q lacks %q", note, want)
	}
	// So does a rule's row, of the history its hand-off could not count, and of where
	// retention had cut it.
	notes, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`historyNotes({incomplete: [{partition: 1, from: 5, to: 9, reason: "gone"}],
		history: {truncated: [{partition: 0, from: 20}, {partition: 2, from: 7}]}}).map((e) => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"History incomplete, counts are lower bounds: partition 1 offsets 5–9 (gone)",
		"History from partition 0 offset 20, partition 2 offset 7: retention dropped what came before"}; !slices.Equal(notes, want) {
		t.Errorf("history notes %q, want %q", notes, want)
	}
	// An alert row shows the severity, group and context of its record.
	row, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`alertRow({alert_id: "x", event_time: "2026-01-01T00:00:00Z", rule_id: "r",
		scope: "*", version: 1, customer: "c", count: 3, threshold: {op: ">", value: 2}, aggregate: "sum", value: 5, source: "live",
		partition: 0, offset: 1, status: "firing", severity: "high", group: {"$.u": "a"}, context: {"$.ip": "10.0.0.7", "$.n": 2}}).textContent`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"v1 high", `group $.u="a"`, `$.ip="10.0.0.7", $.n=2`} {
		if !strings.Contains(row, want) {
			t.Errorf("alert row %q lacks %q", row, want)
		}
	}
	refused, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`window.__refused || ["the CSP watcher did not run"]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 0 {
		t.Errorf("the Content-Security-Policy refused %v", refused)
	}
	if strings.Contains(pageText(br.ctx), "Backtest failed") {
		t.Errorf("the page shows a failed backtest")
	}
	br.checkNothingThrown()
}
