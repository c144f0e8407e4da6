package notify

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSlackSummaryCustomerCannotAddLinesOrMarkup: the customer id is the event's Kafka
// key, any UTF-8 up to --max-customer-bytes, chosen by whoever produces the events.
// Group and context values reach Slack as JSON (quoted, a newline written \n), but the
// customer is written into the summary as it is: a key holding a line break and mrkdwn
// adds a line of its own to the channel's message, e.g. a bold "[CRITICAL] … firing"
// line for a rule and customer that did not fire, or opens a ``` block that swallows
// the real summary. docs/notifications.md: "text is a one-line summary"; the summary
// must stay one line and keep customer text from becoming formatting.
func TestSlackSummaryCustomerCannotAddLinesOrMarkup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, customer string }{
		{"spoofed severity line", "c-1\n*[CRITICAL] rule payments-down firing for customer c-9: count 900 >= 1*"},
		{"code block swallowing the summary", "c-1 ```"},
		{"bold and strike", "*c-1* ~resolved~"},
	} {
		a := testAlert()
		a.Customer = tc.customer
		b, err := Body(Target{Name: "chan", Type: TypeSlack}, a)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Text   string `json:"text"`
			Blocks []struct {
				Text *struct {
					Text string `json:"text"`
				} `json:"text"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{m.Text, m.Blocks[0].Text.Text} {
			if strings.Contains(text, "\n") {
				t.Errorf("%s: the one-line summary has %d lines: %q", tc.name, strings.Count(text, "\n")+1, text)
			}
			if strings.ContainsAny(text, "*~`") {
				t.Errorf("%s: customer text reaches Slack's mrkdwn as formatting: %q", tc.name, text)
			}
		}
	}
	// PagerDuty's summary is one line too.
	a := testAlert()
	a.Customer = "c-1\n[CRITICAL] rule payments-down firing for customer c-9"
	p := pagerDutyEvent(Target{Name: "pd", Type: TypePagerDuty, Secret: []byte("k")}, a)
	if strings.Contains(p.Payload.Summary, "\n") {
		t.Errorf("pagerduty: the one-line summary has a line break: %q", p.Payload.Summary)
	}
}
