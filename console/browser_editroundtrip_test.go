package console_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
)

// TestBrowserEditSaveKeepsConditionValues: a rule whose conditions use "matches" with
// a regex that reads as a JSON number ("404") and "in" with a value holding a comma,
// saved through the API, is opened with Edit and saved again untouched. The page must
// publish the rule it was (status "unchanged"), not another one: it published the
// pattern with quotes around it and split the in value at its comma (found by a review
// helper).
func TestBrowserEditSaveKeepsConditionValues(t *testing.T) {
	skipSlowBrowser(t)
	t.Parallel()
	exe := chromium(t)
	d := startDaemon(t, "")
	originals := map[string]string{
		"not-found": `{"id":"not-found","scope":"*","when":{"all":[` +
			`{"path":"$.status","op":"matches","value":"404"},` +
			`{"path":"$.user","op":"in","value":["smith, john","doe"]}]},"threshold":3}`,
		// An in list of one empty string read back as no members.
		"empty-in": `{"id":"empty-in","scope":"*","when":{"all":[{"path":"$.user","op":"in","value":[""]},` +
			`{"path":"$.team","op":"in","value":["a",""]}]},"threshold":3}`,
		// One condition under all: written back bare, it was another rule.
		"one-under-all": `{"id":"one-under-all","scope":"*","when":{"all":[{"path":"$.user","op":"exists"}]},"threshold":3}`,
	}
	for _, original := range originals {
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(original), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("saving the rule: %d %+v", resp.StatusCode, s)
		}
	}

	br := openBrowser(t, exe)
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	for id, original := range originals {
		drafted, status := br.saveUntouched("*/" + id)
		if !strings.Contains(status, "status unchanged") {
			t.Errorf("%s: Edit then Save, untouched: %s, want status unchanged (the editor's draft: %s)", id, status, drafted)
		}

		var rules console.RulesResponse
		call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
		var when json.RawMessage
		for _, r := range rules.Rules {
			if r.ID == id {
				when, _ = json.Marshal(r.Rule.When)
			}
		}
		var want, got map[string]any
		_ = json.Unmarshal([]byte(original), &want)
		wantWhen, _ := json.Marshal(want["when"])
		_ = json.Unmarshal(when, &got)
		if !reflect.DeepEqual(got, want["when"]) {
			t.Errorf("%s: Edit then Save, untouched, changed the rule's conditions:\n was  %s\n now  %s\n(the editor's draft: %s; save result %q)", id, wantWhen, when, drafted, status)
		}
	}
	br.checkNothingThrown()
}
