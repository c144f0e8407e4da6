package console_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBrowserManyRulesArePaged: a daemon may hold --max-rules (100,000) rules, and the
// page re-rendered the whole rules table, with one uPlot sparkline per rule, on every
// "rules" event of the stream (up to once a second while counts move): with 3,000 rules
// one re-render blocked the page's main thread for seconds (a user typing in the editor
// meanwhile saw the page freeze). The table is paged: whatever the number of rules, the
// page holds one page of rows and sparklines, re-rendered by each event; it says how
// many rules there are in all, goes to the next page, and its filter finds a rule by id
// or name on any page, to edit it.
func TestBrowserManyRulesArePaged(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemon(t, "")
	const n, page = 3000, 100 // page: RULES_PAGE of rules.js
	cs := make([]*rule.Control, n)
	for i := range cs {
		r, err := rule.ParseRule(fmt.Appendf(nil, `{"id":"r-%05d","scope":"*","name":"Rule %d","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":3}`, i, i))
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = rule.Upsert(r)
	}
	kc, topics := d.ConsoleBackend().Kafka()
	if _, err := ingest.PublishControls(context.Background(), kc, topics, cs); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "the daemon to apply the rules", func() bool { return len(d.ConsoleBackend().Rules().Rules) == n })

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the first page of rules", "#rules-page", "1–100 of 3,000")

	// What the page holds: one page of rows and of sparklines, the next "rules" event of
	// the stream re-rendering only those.
	type shown struct {
		Rows   int      `json:"rows"`
		Sparks int      `json:"sparks"`
		Keys   []string `json:"keys"`
		Want   []string `json:"want"` // the keys of the rules the page should show, in the daemon's order
	}
	look := func(from int) shown {
		t.Helper()
		s, err := chromedp.Run(br.ctx, chromedp.Evaluate[shown](fmt.Sprintf(`(() => {
			const rows = Array.from(document.querySelectorAll("#rules tbody tr"));
			return {rows: rows.length, sparks: document.querySelectorAll("#rules .spark canvas").length,
				keys: rows.map((tr) => tr.dataset.key),
				want: state.rules.slice(%d, %d).map((r) => r.scope + "/" + r.id)};
		})()`, from, from+page)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	check := func(what string, s shown) {
		t.Helper()
		if s.Rows != page || s.Sparks != page {
			t.Errorf("%s: the page holds %d rule rows and %d sparklines, want %d of each (one page of %d rules)", what, s.Rows, s.Sparks, page, n)
		}
		if fmt.Sprint(s.Keys) != fmt.Sprint(s.Want) {
			t.Errorf("%s: rows %v…, want %v…", what, head(s.Keys), head(s.Want))
		}
	}
	check("the first page", look(0))
	if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[chromedp.Void](`renderRules({rules: state.rules, invalid: []})`)); err != nil {
		t.Fatal(err)
	}
	check("the first page re-rendered as a rules event does", look(0))

	br.do("go to the next page", chromedp.Click(chromedp.ID("rules-next")))
	br.waitText("the second page", "#rules-page", "101–200 of 3,000")
	check("the second page", look(page))

	// A rule of a later page, by its id, then by its name, and edited from there.
	br.do("find r-02999 by id", chromedp.SendKeys(chromedp.ID("rules-filter"), "r-02999"))
	br.waitText("the rule found by id", "#rules-page", "1–1 of 1 matching (3,000 rules)")
	br.waitText("its row", `#rules tr[data-key="*/r-02999"]`, "Rule 2999")
	br.do("find Rule 2718 by name", chromedp.Evaluate[chromedp.Void](`document.querySelector("#rules-filter").value = ""`),
		chromedp.SendKeys(chromedp.ID("rules-filter"), "rule 2718"))
	br.waitText("the rule found by name", `#rules tr[data-key="*/r-02718"]`, "Rule 2718")
	if rows := look(0).Rows; rows != 1 {
		t.Errorf("filtered by %q, the table shows %d rows, want 1", "rule 2718", rows)
	}
	br.do("edit it", chromedp.Click(chromedp.CSS(`#rules tr[data-key="*/r-02718"] button`)))
	br.waitText("the rule in the editor", "#editor-title", "Edit rule */r-02718")
	br.checkNothingThrown()
}

// head is the first few of keys, for a message.
func head(keys []string) []string { return keys[:min(len(keys), 3)] }
