package console_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserEditSaveUntouchedPublishesNothing: rules saved through the API are opened
// with Edit and saved untouched. The page must answer "unchanged" and publish nothing:
// a new version is a spurious one, and the next `rules apply` of the rule's file is
// then refused as "not newer". Each rule is one way the page changed what it loaded:
//   - alert.severity "medium" written out (the engine keeps it as written): the draft
//     left it out whenever the select showed medium;
//   - a description with newlines (a YAML `description: |`) and a name with a
//     trailing space: a one-line input dropped the newlines, and both were trimmed;
//   - condition values written with escapes ("caf\u00e9", "a\/b", as scripts' JSON
//     encoders write them): stored as sent, where the page's draft and a rules file
//     write the characters; a save now stores them as a rules file gives them.
func TestBrowserEditSaveUntouchedPublishesNothing(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	d := startDaemon(t, "")
	originals := map[string]string{
		"medium":            `{"id":"medium","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":3,"alert":{"severity":"medium"}}`,
		"medium-context":    `{"id":"medium-context","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":3,"alert":{"severity":"medium","context":["$.ip"]}}`,
		"block-description": `{"id":"block-description","scope":"*","description":"Failed logins by admins.\nPage the on-call.\n","when":{"path":"$.type","op":"==","value":"x"},"threshold":3}`,
		"padded-name":       `{"id":"padded-name","scope":"*","name":"Login failures ","when":{"path":"$.type","op":"==","value":"x"},"threshold":3}`,
		"cafe":              `{"id":"cafe","scope":"*","when":{"any":[{"path":"$.shop","op":"==","value":"caf\u00e9"},{"path":"$.p","op":"in","value":["a\/b", "x"]}]},"threshold":3}`,
	}
	for _, original := range originals {
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(original), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("saving the rule: %d %+v", resp.StatusCode, s)
		}
	}
	stored := func() map[string]console.RuleRow {
		var rules console.RulesResponse
		call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
		out := map[string]console.RuleRow{}
		for _, r := range rules.Rules {
			out[r.ID] = r
		}
		return out
	}
	cafe, _ := json.Marshal(stored()["cafe"].Rule)
	if want := `"value":"café"},{"path":"$.p","op":"in","value":["a/b","x"]}`; !strings.Contains(string(cafe), want) {
		t.Errorf("stored rule %s, want the values as a rules file gives them: %s", cafe, want)
	}

	br := openBrowser(t, exe)
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	for id, original := range originals {
		drafted, status := br.saveUntouched("*/" + id)
		if r := stored()[id]; r.Version != 1 || !strings.Contains(status, "status unchanged") {
			now, _ := json.Marshal(r.Rule)
			t.Errorf("%s: Edit then Save, untouched: %s, version %d\n was %s\n now %s\n(the editor's draft: %s)", id, status, r.Version, original, now, drafted)
		}
	}
	br.checkNothingThrown()
}

// saveUntouched opens rule key in the editor and saves it as the page drafted it,
// returning the draft (JSON) and the save's result line.
func (b *browser) saveUntouched(key string) (drafted, status string) {
	b.t.Helper()
	b.waitText("the saved rule", `#rules tr[data-key="`+key+`"]`, "live")
	b.do("edit it", chromedp.Click(chromedp.CSS(`#rules tr[data-key="`+key+`"] button`)))
	b.waitText("the editor", "#editor-title", "Edit rule "+key)
	drafted, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify(draft())`))
	if err != nil {
		b.t.Fatal(err)
	}
	// Clicked from the page's script: Edit scrolls the page smoothly to the editor,
	// and a click at the button's place taken a moment before may land elsewhere.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#save-result").textContent = ""; document.getElementById("btn-save").click(); "saving"`)); err != nil {
		b.t.Fatal(err)
	}
	return drafted, b.waitText("the save result", "#save-result", "status ")
}
