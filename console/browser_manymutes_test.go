package console_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBrowserManyMutesArePaged: the daemon keeps up to --max-mutes (10,000) mutes, plus
// --max-ended-mutes (10,000) ended ones, and GET /v1/console/mutes answered them all,
// unpaged; the page polls it every 3 s and rebuilt the whole mutes table each time,
// stalling its main thread for seconds with many mutes (one per customer muted during
// an incident). The API answers a page (console.DefaultMutesPageSize by default) with the
// total and a cursor, and the page shows one page, with a way to the next and back,
// and polls only the page it shows.
func TestBrowserManyMutesArePaged(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemon(t, "")
	const n = 10000
	cs := make([]*rule.Control, n)
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	for i := range cs {
		cs[i] = rule.UpsertMute(&rule.Mute{Scope: fmt.Sprintf("c-%05d", i), ID: "incident-42", Rule: "*", Until: until, Reason: "incident 42", By: "ana"})
	}
	kc, topics := d.ConsoleBackend().Kafka()
	if _, err := ingest.PublishControls(context.Background(), kc, topics, cs); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "the daemon to apply the mutes", func() bool { return len(d.ConsoleBackend().Mutes()) == n })

	// The API: a page by default, and every mute once, in order, read page by page.
	if ms := readMutes(t, d, ""); len(ms.Mutes) != console.DefaultMutesPageSize || ms.Total != n || ms.NextCursor == "" {
		t.Errorf("GET /v1/console/mutes with %d mutes: %d of them, total %d, next_cursor %q; want a page of %d, total %d and a next page",
			n, len(ms.Mutes), ms.Total, ms.NextCursor, console.DefaultMutesPageSize, n)
	}
	keys, pages := allMutes(t, d, console.DefaultMutesMaxPageSize)
	if len(keys) != n || pages != n/console.DefaultMutesMaxPageSize || !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != n {
		t.Errorf("read %d at a time: %d keys in %d pages (sorted %v), want %d distinct in %d pages, in order",
			console.DefaultMutesMaxPageSize, len(keys), pages, slices.IsSorted(keys), n, n/console.DefaultMutesMaxPageSize)
	}

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the first page of mutes", "#mutes-page", "1–100 of 10,000")
	type shown struct {
		Rows  int      `json:"rows"`
		First string   `json:"first"`
		Polls []string `json:"polls"` // the GET /mutes the page made since spyMutes
	}
	look := func() shown {
		t.Helper()
		s, err := chromedp.Run(br.ctx, chromedp.Evaluate[shown](`(() => {
			const rows = document.querySelectorAll("#mutes tbody tr");
			return {rows: rows.length, first: rows.length ? rows[0].dataset.mute : "", polls: window.mutePolls || []};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := look(); s.Rows != console.DefaultMutesPageSize || s.First != "c-00000/incident-42" {
		t.Errorf("the first page shows %d mutes from %q, want %d from c-00000/incident-42", s.Rows, s.First, console.DefaultMutesPageSize)
	}

	br.do("go to the next page", chromedp.Click(chromedp.ID("mutes-next")))
	br.waitText("the second page", "#mutes-page", "101–200 of 10,000")
	// Record the page's reads of the mutes from here on: the 3 s poll must read the page
	// shown, one page of it, and no other.
	if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		window.mutePolls = [];
		const f = window.fetch;
		window.fetch = (u, o) => { if (String(u).includes("/mutes")) window.mutePolls.push(String(u)); return f(u, o); };
	})()`)); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 15*time.Second, "the page to poll the mutes twice", func() bool { return len(look().Polls) >= 2 })
	s := look()
	if s.Rows != console.DefaultMutesPageSize || s.First != "c-00100/incident-42" {
		t.Errorf("after polls, the second page shows %d mutes from %q, want %d from c-00100/incident-42", s.Rows, s.First, console.DefaultMutesPageSize)
	}
	for _, u := range s.Polls {
		// No limit: the daemon's page size (a limit of the page's own could be over
		// --console-mutes-max-page-size; TestBrowserMutesWithASmallerMaxPage).
		if strings.Contains(u, "limit=") || !strings.Contains(u, "cursor=") {
			t.Errorf("the page polled %s, want the page it shows (its cursor, the daemon's page size)", u)
		}
	}

	br.do("go back", chromedp.Click(chromedp.ID("mutes-prev")))
	br.waitText("the first page again", "#mutes-page", "1–100 of 10,000")
	if s := look(); s.First != "c-00000/incident-42" {
		t.Errorf("back on the first page, it starts at %q, want c-00000/incident-42", s.First)
	}
	br.checkNothingThrown()
}
