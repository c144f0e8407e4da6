package console_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// digitsLeftToRight is a script for the page: for each element sel finds, its text and
// whether its characters are laid out left to right (each starts right of the one
// before), as digits always must be read.
const digitsLeftToRight = `((sel) => Array.from(document.querySelectorAll(sel)).map((e) => {
	const tn = e.firstChild, r = document.createRange(), xs = [];
	for (let i = 0; i < tn.length; i++) { r.setStart(tn, i); r.setEnd(tn, i + 1); xs.push(r.getBoundingClientRect().left); }
	return e.textContent + (xs.every((x, i) => i === 0 || x > xs[i - 1]) ? " left to right" : " reversed");
}))`

// TestBrowserCustomerIDsDoNotReverseTheCountsBesideThem: a customer id is whatever a
// producer wrote, and one holding U+202E (RIGHT-TO-LEFT OVERRIDE) reversed the text the
// page put after it on the line: the rules table's top counts showed the customer
// "evil\u202e" with 12 events with its count laid out backwards ("21"), and the windows
// panel its largest window count so. The page isolates each value others wrote (bdi):
// the override reverses the id alone.
func TestBrowserCustomerIDsDoNotReverseTheCountsBesideThem(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemon(t, "")
	for _, js := range []string{bytesRule, downloadsRule} {
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(js), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("saving %s: %d %+v", js, resp.StatusCode, s)
		}
	}
	const evil = "evil\u202e"
	var recs []*kgo.Record
	for i, c := range map[string]int{evil: 12, "acme": 10} {
		for k := range c {
			recs = append(recs, livetest.Event(i, fmt.Sprintf(`{"type":"download","user":"a","ts":%q,"bytes":1}`,
				windowsBase.Add(time.Duration(k)*time.Second).Format(time.RFC3339))))
		}
	}
	d.b.Produce(t, recs...)
	poll.Until(t, 30*time.Second, "the 22 downloads counted", func() bool {
		var rules console.RulesResponse
		call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
		for _, r := range rules.Rules {
			if r.ID == "downloads" && r.Status == contract.RuleLive && r.Counts.Total == 22 {
				return true
			}
		}
		return false
	})

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the plain count's top customers", `#rules tr[data-key="*/downloads"]`, "acme: 10")
	got, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](digitsLeftToRight+`('#rules tr[data-key="*/downloads"] .tops b')`))
	if want := "12 left to right, 10 left to right"; err != nil || strings.Join(got, ", ") != want {
		t.Errorf("the top counts beside customer %q and acme are laid out %q (%v), want %q", evil, got, err, want)
	}

	br.do("open the windows", chromedp.Click(chromedp.CSS(`button[data-windows="*/bytes-per-user"]`)))
	br.waitText("the panel's customers", "#windows-page", "customers 1–2")
	// Each customer's line: its id, then its largest window count.
	got, err = chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#windows tr.customer td")).map((td) => {
		const tn = td.querySelector(".sub").firstChild;
		const at = tn.data.indexOf("count ") + 6, r = document.createRange(), xs = [];
		for (let i = at; i < at + 2; i++) { r.setStart(tn, i); r.setEnd(tn, i + 1); xs.push(r.getBoundingClientRect().left); }
		return tn.data.slice(at, at + 2) + (xs[1] > xs[0] ? " left to right" : " reversed");
	})`))
	if want := "10 left to right, 12 left to right"; err != nil || strings.Join(got, ", ") != want {
		t.Errorf("the largest window counts beside customers acme and %q are laid out %q (%v), want %q", evil, got, err, want)
	}
	br.checkNothingThrown()
}
