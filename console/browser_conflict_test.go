package console_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBrowserSaveOverAnotherSaveIsRefused: a user opens version 1 of a rule in the
// editor; meanwhile someone else saves version 2 (here through the API); the user's
// save must not undo that unsaid. The page says the rule changed meanwhile, nothing is
// published, and after opening the rule again the user's save makes version 3. Before,
// the page's save replaced version 2 with the user's edit of version 1.
func TestBrowserSaveOverAnotherSaveIsRefused(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	d := startDaemon(t, "")
	const key = "*/login-failures"
	save := func(threshold int) {
		t.Helper()
		var s console.SaveResponse
		js := strings.Replace(loginRule, `"threshold":3`, fmt.Sprintf(`"threshold":%d`, threshold), 1)
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(js), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("saving threshold %d through the API: %d %+v", threshold, resp.StatusCode, s)
		}
	}
	save(3)
	br := openBrowser(t, exe)
	setThresholdAndSave := func(n int) chromedp.Action[chromedp.Void] {
		// From the page's script: Edit scrolls the page smoothly, and a click at a
		// button's place taken a moment before may land elsewhere.
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
  const e = document.querySelector("#threshold"); e.value = "%d"; e.dispatchEvent(new Event("input", {bubbles: true}));
  document.querySelector("#save-result").textContent = "";
  document.getElementById("btn-save").click();
})()`, n))
	}
	editFromList := func(version string) {
		t.Helper()
		br.waitText("the rule at "+version, `#rules tr[data-key="`+key+`"]`, version)
		br.do("edit it", chromedp.Evaluate[chromedp.Void](`document.querySelector('#rules tr[data-key="`+key+`"] button').click()`))
		br.waitText("the editor", "#editor-title", "Edit rule "+key+" (active version "+strings.TrimPrefix(version, "v")+")")
	}
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	editFromList("v1")

	save(4) // someone else's save: version 2
	br.do("save the edit of version 1", setThresholdAndSave(5))
	shown := br.waitText("the save result", "#save-result", "status conflict")
	if !strings.Contains(shown, "version 2 is active") || !strings.Contains(shown, "changed meanwhile") {
		t.Errorf("the page says %q; want that the rule changed meanwhile, version 2 active", shown)
	}
	if r, ok := d.Registry().Get(rule.Key{Scope: "*", ID: "login-failures"}); !ok || r.Version != 2 || r.Threshold.Count() != 4 {
		t.Fatalf("after the refused save the active rule is %+v; want version 2, threshold 4 (the other save)", r)
	}
	if n := d.b.TopicRecords(t, "controls"); n != 2 {
		t.Errorf("the controls topic holds %d records, want the two API saves: the page's was refused", n)
	}

	editFromList("v2")
	br.do("save the edit again, from version 2", setThresholdAndSave(5))
	shown = br.waitText("the second save's result", "#save-result", "status ok")
	if !strings.Contains(shown, "version 3") {
		t.Errorf("the page says %q; want version 3 saved", shown)
	}
	br.do("save once more, the edit now based on version 3", setThresholdAndSave(6))
	shown = br.waitText("the third save's result", "#save-result", "status ok")
	if !strings.Contains(shown, "version 4") {
		t.Errorf("the page says %q; want version 4: a save builds on the version its previous save made", shown)
	}
	br.checkNothingThrown()
}
