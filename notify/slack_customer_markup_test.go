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
		a.Scope = tc.customer // a customer-scoped rule: the meta line names the customer too
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
				Elements []struct {
					Text string `json:"text"`
				} `json:"elements"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		meta := m.Blocks[len(m.Blocks)-1].Elements[0].Text
		for _, text := range []string{m.Text, m.Blocks[0].Text.Text, meta} {
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
	// The id is quoted JSON, which still reads back as the exact id.
	if want := `for customer "c-1\n[CRITICAL] rule payments-down firing for customer c-9" (group`; !strings.Contains(p.Payload.Summary, want) {
		t.Errorf("pagerduty: summary %q does not hold %s", p.Payload.Summary, want)
	}
	// Plain ids read as they are; in Slack an _ inside an id stays, one at its edge is
	// quoted with mrkdwn's characters escaped.
	for _, tc := range []struct{ customer, want string }{
		{"c-042", "for customer c-042 ("},
		{"acme_eu", "for customer acme_eu ("},
		{"_acme_", `for customer "\u005facme\u005f" (`},
		{"*c-1* ~x~ `y`", `for customer "\u002ac-1\u002a \u007ex\u007e \u0060y\u0060" (`},
	} {
		a := testAlert()
		a.Customer = tc.customer
		if m := slackMessage(a); !strings.Contains(m.Text, tc.want) {
			t.Errorf("slack: customer %q: summary %q does not hold %s", tc.customer, m.Text, tc.want)
		}
	}
}
