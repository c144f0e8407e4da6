package console_test

import (
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserEditSaveKeepsDescriptionAsWritten: a rule whose description ends in a
// newline, as a YAML block scalar (description: |) gives it to `rules apply`, or whose
// name or description has spaces at an end, is opened with Edit and saved untouched.
// The page must answer "unchanged" and publish nothing; it trims both fields, so the
// draft differs and a new version is published with the text changed.
func TestBrowserEditSaveKeepsDescriptionAsWritten(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	d := startDaemon(t, "")
	originals := map[string]string{
		"block-description": `{"id":"block-description","scope":"*","description":"Failed logins by admins.\nPage the on-call.\n","when":{"path":"$.type","op":"==","value":"x"},"threshold":3}`,
		"padded-name":       `{"id":"padded-name","scope":"*","name":"Login failures ","when":{"path":"$.type","op":"==","value":"x"},"threshold":3}`,
	}
	for _, original := range originals {
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(original), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("saving the rule: %d %+v", resp.StatusCode, s)
		}
	}
	br := openBrowser(t, exe)
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	for _, id := range []string{"block-description", "padded-name"} {
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
