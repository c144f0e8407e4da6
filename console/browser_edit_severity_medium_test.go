package console_test

import (
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserEditSaveKeepsExplicitMediumSeverity: a rule written with alert.severity
// "medium" (as `rules apply` takes it from a file: the engine keeps the field as
// written) is opened with Edit and saved untouched. The page must answer "unchanged"
// and publish nothing; a new version with the field dropped is a spurious version, and
// the next `rules apply` of the file is then refused as "not newer".
func TestBrowserEditSaveKeepsExplicitMediumSeverity(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	d := startDaemon(t, "")
	originals := map[string]string{
		"medium":         `{"id":"medium","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":3,"alert":{"severity":"medium"}}`,
		"medium-context": `{"id":"medium-context","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":3,"alert":{"severity":"medium","context":["$.ip"]}}`,
	}
	for _, original := range originals {
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(original), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("saving the rule: %d %+v", resp.StatusCode, s)
		}
	}
	br := openBrowser(t, exe)
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	for _, id := range []string{"medium", "medium-context"} {
		key := "*/" + id
		br.waitText("the saved rule", `#rules tr[data-key="`+key+`"]`, "live")
		br.do("edit it", chromedp.Click(chromedp.CSS(`#rules tr[data-key="`+key+`"] button`)))
		br.waitText("the editor", "#editor-title", "Edit rule "+key)
		drafted, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`JSON.stringify(draft())`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#save-result").textContent = ""; document.getElementById("btn-save").click(); "saving"`)); err != nil {
			t.Fatal(err)
		}
		status := br.waitText("the save result", "#save-result", "status ")
		var rules console.RulesResponse
		call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
		for _, r := range rules.Rules {
			if r.ID == id && r.Version != 1 {
				now, _ := json.Marshal(r.Rule)
				t.Errorf("%s: Edit then Save, untouched, published version %d: %s\n was %s\n now %s\n(the editor's draft: %s)", id, r.Version, status, originals[id], now, drafted)
			}
		}
	}
	br.checkNothingThrown()
}
