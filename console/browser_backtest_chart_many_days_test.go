package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBacktestChartOfManyDays: a backtest's per_day lists a day for every UTC
// day with a firing, and record times are any a producer stamps, so a report may list
// hundreds of thousands of days (years 0001 to 9999 hold 3.65 million). firingsChart
// (static/editor.js) took the first and last of them with Math.min(...days) and
// Math.max(...days), passing each day as an argument of its own: past about 120,000
// arguments V8 throws "RangeError: Maximum call stack size exceeded" and the backtest
// shows no chart. The test draws 200,000 days (1970-01-01 on) in the console's page
// itself, as showBacktest does with a report's per_day, and checks the chart's bins.
func TestBrowserBacktestChartOfManyDays(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	type drawn struct {
		Error  string  `json:"error"`
		Points int     `json:"points"`
		Sum    float64 `json:"sum"`
		Unit   string  `json:"unit"`
	}
	// Each day fires once, the last twice: the bins' sum is 200,001 when none is lost.
	got, err := chromedp.Run(br.ctx, chromedp.Evaluate[drawn](`(() => {
		const perDay = [];
		for (let i = 0; i < 200000; i++) perDay.push({ key: new Date(i * 86400000).toISOString().slice(0, 10), firings: i === 199999 ? 2 : 1 });
		const root = document.createElement("div");
		document.querySelector("#rule-id").parentElement.append(root);
		try {
			const u = firingsChart(root, perDay);
			const sum = u.data[1].reduce((a, b) => a + b, 0);
			const unit = u.series[1].label;
			u.destroy();
			return { error: "", points: u.data[0].length, sum, unit };
		} catch (e) {
			return { error: String(e), points: 0, sum: 0, unit: "" };
		}
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Error != "" {
		t.Fatalf("charting 200,000 days of firings threw: %s", got.Error)
	}
	// 1970-01-01 to 2517-07-31: 548 years, charted in 2-year bins, 1970–71 to 2516–17 (274).
	if got.Sum != 200_001 || got.Points != 274 || got.Unit != "firings per 2 years" {
		t.Errorf("charting 200,000 days of firings drew %d bins of %q summing to %v; want 274 bins of \"firings per 2 years\" summing to 200001", got.Points, got.Unit, got.Sum)
	}
	br.checkNothingThrown()
}
