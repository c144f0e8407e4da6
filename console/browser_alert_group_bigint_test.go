package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAlertGroupsOfBigIntegersShownWithTheirDigits: two users whose ids are JSON
// integers above 2^53 (9007199254740993 and 9007199254740992) each cross the threshold
// in their own group; the alerts list must show each alert's group with its id's
// digits, as the alert record carries them, not both under one rounded id.
func TestBrowserAlertGroupsOfBigIntegersShownWithTheirDigits(t *testing.T) {
	t.Parallel()
	skipSlowBrowser(t)
	d, _ := bigWindowsDaemon(t, "5", [][2]string{{"9007199254740993", "5"}, {"9007199254740992", "7"}})
	d.b.WaitTopicRecords(t, "alerts", 2, 30*time.Second)
	br := openBrowser(t, chromium(t), windowSize{1440, 1000})
	br.do("open the console", chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.url("/")), chromedp.WaitVisible(chromedp.ID("rule-id")))
	rows, err := chromedp.Run(br.ctx, chromedp.Poll[[]string](`(() => {
		const rows = Array.from(document.querySelectorAll("#alerts tbody tr")).map((tr) => tr.textContent.replace(/\s+/g, " ").trim());
		return rows.length >= 2 ? rows : null; })()`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("waiting for the two alerts: %v", err)
	}
	br.checkNothingThrown()
	joined := strings.Join(rows, "\n")
	if !strings.Contains(joined, "group $.user=9007199254740993") || !strings.Contains(joined, "group $.user=9007199254740992") {
		t.Errorf("the alerts list shows\n%s\nwant the groups $.user=9007199254740993 and $.user=9007199254740992 apart", joined)
	}
}
