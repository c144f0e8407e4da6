package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserLongCustomerKeepsTheLayout: a customer id may be 1024 bytes
// (rule.Limits.MaxCustomerBytes) of characters without a space (a hash, a token-like
// id). Shown in the alerts table and the rules' counts, it must wrap or be cut, not
// widen the tables past their panels and push the page sideways.
func TestBrowserLongCustomerKeepsTheLayout(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemon(t, "")
	rl := `{"id":"login-failures","scope":"*","name":"Login failures","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":1}`
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(rl), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving a rule: %d %+v", resp.StatusCode, s)
	}
	long := strings.Repeat("a1b2c3d4", 120) // 960 bytes, no space
	produce(t, d.b, []event{{customer: long, typ: "login.failed", roles: []string{"user"}, at: time.Now()}})

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the alert of the long customer", "#alerts tbody", long[:40])
	br.waitText("the rule's counts", `#rules tr[data-key="*/login-failures"]`, long[:40])
	widths, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]int](`[
		document.documentElement.scrollWidth, document.documentElement.clientWidth,
		document.querySelector("#alerts").scrollWidth, document.querySelector("#alerts-panel").clientWidth,
		document.querySelector("#rules").scrollWidth, document.querySelector("#rules-panel").clientWidth]`))
	if err != nil {
		t.Fatal(err)
	}
	if widths[0] > widths[1] {
		t.Errorf("a %d-byte customer id widens the page to %d px in a %d px window (horizontal scroll)", len(long), widths[0], widths[1])
	}
	if widths[2] > widths[3] {
		t.Errorf("the alerts table is %d px wide in its %d px panel", widths[2], widths[3])
	}
	if widths[4] > widths[5] {
		t.Errorf("the rules table is %d px wide in its %d px panel", widths[4], widths[5])
	}
	// Added by the fix (not the hunt's): the long id breaks, its short neighbours do not.
	// A cell that may break anywhere next to the long one would be squeezed to a few
	// letters a line.
	lines, err := chromedp.Run(br.ctx, chromedp.Evaluate[map[string]int](`(() => {
		const lines = (e) => { const r = document.createRange(); r.selectNodeContents(e); return new Set(Array.from(r.getClientRects()).map((x) => Math.round(x.top))).size; };
		const row = document.querySelector("#alerts tbody tr");
		return { "alert's rule id": lines(row.children[1].querySelector(".mono")), "alert's offset": lines(row.children[6]),
			"alert's customer": lines(row.children[2]), "rule's id": lines(document.querySelector('#rules tr[data-key="*/login-failures"] td .mono')) };
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	for what, n := range lines {
		if want := 1; what == "alert's customer" {
			if n < 2 {
				t.Errorf("the %d-byte customer id is on %d line", len(long), n)
			}
		} else if n != want {
			t.Errorf("the %s is on %d lines, want %d", what, n, want)
		}
	}
	br.checkNothingThrown()
}

// TestBrowserLongGroupValueKeepsThePreviewInItsPanel: a would-fire window's group
// value is event data (a user agent, a URL, a token-like id: anything a JSONPath
// selects), and a customer id may be 1024 bytes. The preview lists both in its tables;
// a long value without spaces must wrap or be cut, not widen the preview past the
// editor panel (the editor's inputs and buttons then leave the screen).
func TestBrowserLongGroupValueKeepsThePreviewInItsPanel(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemon(t, "")
	long := strings.Repeat("Mozilla/5.0_(X11;Linux_x86_64)", 20) // 600 bytes, no space
	cust := strings.Repeat("c0ffee", 100)
	recs := []event{
		{customer: cust, typ: "login.failed", roles: []string{long}, at: time.Now().Add(-time.Minute)},
		{customer: cust, typ: "login.failed", roles: []string{long}, at: time.Now()},
	}
	produce(t, d.b, recs)
	d.waitLake(t, int64(len(recs)))

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.do("preview a rule per first role", chromedp.Evaluate[chromedp.Void](`(() => {
		const set = (sel, v) => { const e = document.querySelector(sel); e.value = v; e.dispatchEvent(new Event("input", {bubbles: true})); };
		set("#rule-id", "roles"); set(".cond-path", "$.type"); set(".cond-value", "login.failed");
		set("#group-by", "$.actor.roles[0]"); set("#window-size", "1h"); set("#threshold", "1");
		document.querySelector("#btn-preview").click(); })()`))
	br.waitText("the would-fire windows", "#preview-windows tbody", long[:30])
	widths, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]int](`[
		document.documentElement.scrollWidth, document.documentElement.clientWidth,
		document.querySelector("#preview").scrollWidth, document.querySelector("#preview").clientWidth,
		Math.round(document.querySelector("#editor-panel").getBoundingClientRect().width)]`))
	if err != nil {
		t.Fatal(err)
	}
	if widths[0] > widths[1] || widths[2] > widths[3] {
		t.Errorf("a %d-byte group value and a %d-byte customer widen the preview: page %d px in a %d px window, preview content %d px in its %d px box (editor panel %d px)",
			len(long), len(cust), widths[0], widths[1], widths[2], widths[3], widths[4])
	}
	br.checkNothingThrown()
}
