package console_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBrowserMutesWithASmallerMaxPage: --console-mutes-max-page-size is a flag
// (Validate only asks that the default page not exceed it). The page asked for a
// hard-coded limit=100 (a review's test): a daemon started with
// --console-mutes-page-size 20 --console-mutes-max-page-size 50 answered every poll 400,
// which the page dropped silently: the mutes panel said "No mutes." while mutes were in
// force. The page asks for the daemon's own page size now, and says why a listing
// failed.
func TestBrowserMutesWithASmallerMaxPage(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemonWith(t, "", func(c *live.Config) { c.ConsoleMutesPageSize, c.ConsoleMutesMaxPageSize = 20, 50 })
	const n = 3
	cs := make([]*rule.Control, n)
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	for i := range cs {
		cs[i] = rule.UpsertMute(&rule.Mute{Scope: fmt.Sprintf("c-%d", i), ID: "incident-7", Rule: "*", Until: until, Reason: "incident 7", By: "ana"})
	}
	kc, topics := d.ConsoleBackend().Kafka()
	if _, err := ingest.PublishControls(context.Background(), kc, topics, cs); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "the daemon to apply the mutes", func() bool { return len(d.ConsoleBackend().Mutes()) == n })

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the mutes in force", "#mutes tbody", "c-0")
	br.checkNothingThrown()
}
