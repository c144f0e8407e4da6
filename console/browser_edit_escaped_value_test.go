package console_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserEditSaveKeepsEscapedValue: a rule saved through the API with escapes in a
// condition's value ("caf\u00e9", "a\/b", as scripts' JSON encoders write them) is
// stored as a rules file would give it (the characters), and opened with Edit and
// saved untouched it is "unchanged": the page's draft writes the characters, which the
// save makes the same form, so no version 2.
func TestBrowserEditSaveKeepsEscapedValue(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	d := startDaemon(t, "")
	original := `{"id":"cafe","scope":"*","when":{"any":[{"path":"$.shop","op":"==","value":"caf\u00e9"},{"path":"$.p","op":"in","value":["a\/b", "x"]}]},"threshold":3}`
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(original), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving the rule: %d %+v", resp.StatusCode, s)
	}
	var rules console.RulesResponse
	call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
	stored, _ := json.Marshal(rules.Rules[0].Rule)
	if want := `"value":"café"},{"path":"$.p","op":"in","value":["a/b","x"]}`; !strings.Contains(string(stored), want) {
		t.Errorf("stored rule %s, want the values as a rules file gives them: %s", stored, want)
	}
	br := openBrowser(t, exe)
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	key := "*/cafe"
	br.waitText("the saved rule", `#rules tr[data-key="`+key+`"]`, "live")
	br.do("edit it", chromedp.Click(chromedp.CSS(`#rules tr[data-key="`+key+`"] button`)))
	br.waitText("the editor", "#editor-title", "Edit rule "+key)
	if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#save-result").textContent = ""; document.getElementById("btn-save").click(); "saving"`)); err != nil {
		t.Fatal(err)
	}
	if status := br.waitText("the save result", "#save-result", "status "); !strings.Contains(status, "status unchanged") {
		t.Errorf("Edit then Save, untouched: %s, want status unchanged", status)
	}
	call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
	if v := rules.Rules[0].Version; v != 1 {
		t.Errorf("Edit then Save, untouched, published version %d", v)
	}
	br.checkNothingThrown()
}
