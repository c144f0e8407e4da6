package console_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestBrowserSupersededBacktestIsAbandoned: the page shows only the latest backtest's
// answer and drops an earlier one's; it must also abort the earlier request, or the
// daemon keeps running a backtest nobody will see, holding one of its
// --http-max-heavy-requests slots until --preview-timeout. A user who clicks Backtest
// again (another span, a fixed draft) should free the slot of the one they replaced
// (fetch with an AbortController; the handler's context then ends), or else a few
// impatient clicks lock every heavy request (previews, counts) out for 15 s. And the
// backtest they asked for instead is answered, not refused for the slot the replaced
// one held a moment longer.
//
// The backtest is made slow for real: the broker holds its listing of the events
// topic's offsets (kafkarange.Logs) until the test ends; the backtest that replaces
// it is not held. A daemon frees the slot ~0.1 s after its client aborts.
func TestBrowserSupersededBacktestIsAbandoned(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	exe := chromium(t)
	d := startDaemonWith(t, "", func(c *live.Config) {
		c.HTTPMaxHeavyRequests = 1
		c.PreviewTimeout = 20 * time.Second
		c.HTTPWriteTimeout = 40 * time.Second
	})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var armed atomic.Bool
	var held atomic.Int32
	c := d.b.Cluster
	c.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !armed.Load() {
			return nil, nil, false
		}
		for _, tp := range req.(*kmsg.ListOffsetsRequest).Topics {
			// Only the first listing is held: the backtest that replaces it runs.
			if tp.Topic == "events" && held.Add(1) == 1 {
				c.SleepControl(func() {
					select {
					case <-release:
					case <-time.After(30 * time.Second):
					}
				})
				break
			}
		}
		return nil, nil, false
	})

	br := openBrowser(t, exe, windowSize{1440, 1000})
	fill := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); })()`, sel, value))
	}
	br.do("open the console", chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	br.waitText("the live connection", "#conn", "live")
	br.do("type a rule", fill("#rule-id", "login-failures"), fill(".cond-path", "$.type"), fill(".cond-value", "login.failed"), fill("#threshold", "3"))
	br.waitText("the rule to validate", "#validity", "valid rule")
	armed.Store(true)
	br.do("backtest the last 30 days", chromedp.Click(chromedp.ID("btn-backtest")))
	poll.Until(t, 20*time.Second, "the backtest to list the events topic's offsets", func() bool { return held.Load() != 0 })
	// The user changes their mind: the whole history instead. The first backtest's
	// answer will be dropped by the page.
	br.do("backtest the whole history instead", chromedp.SetValue(chromedp.ID("backtest-days"), "0"), chromedp.Click(chromedp.ID("btn-backtest")))
	// Within a few seconds the replaced backtest should no longer hold the only heavy
	// slot: a heavy read (the rules listing) gets in. The bound must stay well below
	// the preview timeout (20 s), at which the replaced backtest gives the slot back by
	// itself; asked every 200 ms, as each ask is a request the slot refuses.
	var code int
	if !poll.WithinEvery(6*time.Second, 200*time.Millisecond, func() bool {
		resp, _ := livetest.Request(t, "GET", d.url("/v1/console/rules"), nil, nil)
		code = resp.StatusCode
		return code == 200
	}) {
		shown := pageText(br.ctx)
		t.Fatalf("6 s after the page replaced its backtest by another, the daemon still runs the replaced one, holding the heavy-request slot: GET /v1/console/rules answers %d; the page shows:\n%s", code, excerpt(shown, "Backtest"))
	}
	// Added by the fix (not the hunt's, which returned here): the replacing backtest may
	// reach the daemon before the replaced one's slot is given back, and be refused for
	// it; the page asks again rather than show the user that refusal.
	if got := br.waitText("the whole history's backtest", "#backtest", "over the whole lake"); strings.Contains(got, "failed") {
		t.Errorf("the replacing backtest shows %q", got)
	}
	br.checkNothingThrown()
}

// excerpt is the part of s from the first want on (at most 300 bytes), or its start.
func excerpt(s, want string) string {
	for i := 0; i+len(want) <= len(s); i++ {
		if s[i:i+len(want)] == want {
			s = s[i:]
			break
		}
	}
	return s[:min(len(s), 300)]
}
