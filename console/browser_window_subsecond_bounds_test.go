package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestBrowserSubsecondWindowBoundsShownAsTheAPIGivesThem: a rule may keep windows of
// whole milliseconds (window.size "500ms"). An event at 00:00:00.600 falls in the
// window [00:00:00.500, 00:00:01.000), which the API lists; the page must show those
// bounds, not a window that seems to start at 00:00:00 and last a second.
func TestBrowserSubsecondWindowBoundsShownAsTheAPIGivesThem(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d := startDaemon(t, "")
	const js = `{"id":"big-bytes","scope":"*","when":{"path":"$.type","op":"==","value":"download"},` +
		`"aggregate":{"fn":"sum","path":"$.bytes"},"group_by":["$.user"],"window":{"size":"500ms"},` +
		`"time":"$.ts","lateness":"1h","threshold":100}`
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(js), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving the rule: %d %+v", resp.StatusCode, s)
	}
	d.b.Produce(t, livetest.Event("acme", `{"type":"download","user":"a","bytes":1,"ts":"2026-01-01T00:00:00.600Z"}`))
	var page console.WindowsResponse
	poll.Until(t, 30*time.Second, "the window listed", func() bool {
		page = console.WindowsResponse{}
		call(t, "GET", d.url("/v1/console/windows?scope=*&id=big-bytes"), "", nil, &page)
		return len(page.Counts) == 1 && len(page.Counts[0].Windows) == 1 && page.Counts[0].Status == contract.RuleLive
	})
	w := page.Counts[0].Windows[0]
	if w.WindowStart == nil || !w.WindowStart.Equal(time.Date(2026, 1, 1, 0, 0, 0, 500e6, time.UTC)) {
		t.Fatalf("API window %+v, want it to start at 00:00:00.500", w)
	}
	rows := windowsPanel(t, d)
	joined := strings.Join(rows, "\n")
	if !strings.Contains(joined, "00:00:00.5") {
		t.Errorf("the windows panel shows\n%s\nwant the window [00:00:00.500, 00:00:01.000) the API lists", joined)
	}
}
