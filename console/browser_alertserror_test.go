package console_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
)

// TestBrowserShowsTheAlertsReadingError: API.md says GET /v1/console/alerts carries
// `error`, "a persisting problem reading" the alerts topic, and the page has an
// #alerts-error paragraph for it. When every fetch of the alerts topic fails, a user
// looking at the page must learn that the alerts cannot be read, not be told "No
// alerts yet." (which reads as "nothing fired"); once the topic can be read again, the
// page says so no more.
func TestBrowserShowsTheAlertsReadingError(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemonWith(t, "", func(c *live.Config) { c.NoNotify = true })
	// Every fetch that names the alerts topic fails, until the test heals it: a persisting
	// problem.
	var healed atomic.Bool
	d.b.FailFetches(t, "alerts", kerr.UnknownServerError, func() bool { return !healed.Load() })

	br := openBrowser(t, exe, windowSize{1440, 1000})
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the live connection", "#conn", "live")
	var got console.AlertsResponse
	poll.Until(t, 20*time.Second, "the API to report the alerts reading error", func() bool {
		got = console.AlertsResponse{}
		call(t, "GET", d.url("/v1/console/alerts"), "", nil, &got)
		return got.Error != ""
	})
	// Give the page time to learn of it (stream reconnect, 3 s notify poll).
	js := `(() => { const e = document.querySelector("#alerts-error"); return e && !e.hidden && e.textContent.trim() !== "" ? e.textContent : null; })()`
	_, err := chromedp.Run(br.ctx, chromedp.Poll[string](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		empty, _ := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector("#alerts-empty"); return e.hidden ? "(hidden)" : e.textContent; })()`))
		t.Errorf("the API says the alerts topic cannot be read (%q) but the page does not say so: #alerts-error stays hidden and empty (%v); the alerts panel shows %q", got.Error, err, empty)
	}
	// Added by the fix (not the hunt's): once the topic can be read again, the page stops
	// saying it cannot, and says again that no alert came.
	healed.Store(true)
	poll.Until(t, 20*time.Second, "the API to stop reporting the alerts reading error", func() bool {
		got = console.AlertsResponse{}
		call(t, "GET", d.url("/v1/console/alerts"), "", nil, &got)
		return got.Error == ""
	})
	js = `(() => document.querySelector("#alerts-error").hidden && !document.querySelector("#alerts-empty").hidden)()`
	if _, err := chromedp.Run(br.ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("the alerts topic is read again, but the page still says it cannot be (%v):\n%s", err, excerpt(pageText(br.ctx), "Recent alerts"))
	}
	br.checkNothingThrown()
}
