package console_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPathProblemsOfGroupByAndAggregateShowTheirColumn: the daemon positions a
// bad JSONPath in group_by or aggregate.path (a column), as it does a condition's; the
// page must show that position under the input, as it does a condition path's, not
// only the message.
func TestBrowserPathProblemsOfGroupByAndAggregateShowTheirColumn(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	type problem struct {
		Field   string `json:"field"`
		Column  int    `json:"column"`
		Message string `json:"message"`
	}
	var v struct {
		Valid    bool      `json:"valid"`
		Problems []problem `json:"problems"`
	}
	call(t, "POST", d.url("/v1/console/validate"), "", draft(`{"id":"g","scope":"*","when":{"path":"$.type","op":"==","value":"x"},`+
		`"group_by":["$.user","$.a[1"],"aggregate":{"fn":"sum","path":"$.n[1"},"window":{"size":"10m"},"threshold":3}`), &v)
	columns := map[string]int{}
	for _, p := range v.Problems {
		columns[strings.SplitN(p.Field, "[", 2)[0]] = p.Column
	}
	if columns["group_by"] == 0 || columns["aggregate.path"] == 0 {
		t.Fatalf("validate answered %+v: want positioned problems of group_by and aggregate.path", v)
	}

	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	fill := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel, value))
	}
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("write the rule",
		chromedp.SendKeys(chromedp.ID("rule-id"), "g"),
		chromedp.SendKeys(chromedp.CSS(".cond-path"), "$.type"),
		chromedp.SendKeys(chromedp.CSS(".cond-value"), "x"),
		chromedp.Click(chromedp.CSS("#aggregation summary")),
		fill("#agg-fn", "sum"),
		fill("#agg-path", "$.n[1"),
		fill("#group-by", "$.user, $.a[1"),
		fill("#window-size", "10m"),
		fill("#threshold", "3"),
	)
	br.waitText("the draft invalid", "#validity", "problems")
	br.do("preview", chromedp.Click(chromedp.ID("btn-preview")))
	br.waitText("the preview refused", "#preview", "Fix the rule first")
	for _, field := range []string{"group_by", "aggregate"} {
		shown := br.waitText("the problem of "+field, `[data-err="`+field+`"]`, "")
		if !strings.Contains(shown, "column") {
			t.Errorf("under %s the page shows %q: no position, where the daemon gave column %d", field, shown, columns[map[string]string{"group_by": "group_by", "aggregate": "aggregate.path"}[field]])
		}
	}
	br.checkNothingThrown()
}
