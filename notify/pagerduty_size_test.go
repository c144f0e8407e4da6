package notify

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/ingest"
)

// TestPagerDutyEventWithinPagerDutysBound: an alert live produces whole (within
// --alert-max-bytes) may be far over the Events API's 512 KB, and PagerDuty refuses
// such an event for good: the incident never opens, nobody is paged. Its details are
// cut to fit, the largest values first, as an alert over --alert-max-bytes is; an
// alert too large even with every value cut (a huge customer id) goes without its
// details. Either way the trigger keeps its summary, severity and dedup key.
func TestPagerDutyEventWithinPagerDutysBound(t *testing.T) {
	t.Parallel()
	alertMax := ingest.DefaultDeadLetterMaxBytes - ingest.NotProducedRoom // live's default --alert-max-bytes
	target := Target{Name: "pd", Type: TypePagerDuty, URL: "https://events.pagerduty.com/v2/enqueue", Secret: []byte("R0UTINGKEY")}
	for _, tc := range []struct {
		name        string
		customer    string
		context     map[string]json.RawMessage
		wantCut     []string // context_cut of the details; nil: no details
		wantDetails bool
	}{
		{"small", "c-1", map[string]json.RawMessage{"$.ip": json.RawMessage(`"10.0.0.7"`)}, nil, true},
		{"one large context value", "c-1", map[string]json.RawMessage{"$.ip": json.RawMessage(`"10.0.0.7"`),
			"$.note": json.RawMessage(`"` + strings.Repeat("x", 600_000) + `"`)}, []string{"$.note"}, true},
		// $.a is cut first (larger as written), and the event is still over: $.b is
		// 600,000 bytes as JSON escapes '<' for HTML.
		{"two large context values", "c-1", map[string]json.RawMessage{"$.a": json.RawMessage(`"` + strings.Repeat("a", 300_000) + `"`),
			"$.b": json.RawMessage(`"` + strings.Repeat("<", 100_000) + `"`)}, []string{"$.a", "$.b"}, true},
		// 100,000 bytes in the alert, 600,000 as encoding/json escapes them for HTML.
		{"a value JSON escapes past the bound", "c-1", map[string]json.RawMessage{"$.ip": json.RawMessage(`"10.0.0.7"`),
			"$.html": json.RawMessage(`"` + strings.Repeat("<", 100_000) + `"`)}, []string{"$.html"}, true},
		// Over what live sends under the default bounds: a customer id of 520,000 bytes.
		{"huge customer", strings.Repeat("c", 520_000), nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testAlert()
			a.Customer, a.Context = tc.customer, tc.context
			if n := len(a.Customer) + len(a.AppendJSON(nil)); n > alertMax && tc.wantDetails {
				t.Fatalf("test alert is %d bytes, over --alert-max-bytes %d: live would cut it", n, alertMax)
			}
			before := string(a.AppendJSON(nil))
			b, err := Body(target, a)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > pagerDutyMaxEvent {
				t.Errorf("PagerDuty event of a legal alert is %d bytes, over the Events API's %d", len(b), pagerDutyMaxEvent)
			}
			if string(a.AppendJSON(nil)) != before {
				t.Errorf("the alert was changed by cutting its details")
			}
			var ev struct {
				EventAction string `json:"event_action"`
				DedupKey    string `json:"dedup_key"`
				Payload     struct {
					Summary       string          `json:"summary"`
					Severity      string          `json:"severity"`
					CustomDetails json.RawMessage `json:"custom_details"`
				} `json:"payload"`
			}
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatalf("event is not JSON: %v", err)
			}
			if ev.EventAction != "trigger" || ev.DedupKey != a.AlertID || ev.Payload.Severity != "error" || !strings.Contains(ev.Payload.Summary, "login-failures") {
				t.Errorf("event %s %s %s %q: want a trigger of the alert with its summary", ev.EventAction, ev.DedupKey, ev.Payload.Severity, ev.Payload.Summary)
			}
			if !tc.wantDetails {
				if ev.Payload.CustomDetails != nil {
					t.Errorf("custom_details of %d bytes; want none", len(ev.Payload.CustomDetails))
				}
				return
			}
			var details struct {
				Customer   string                     `json:"customer"`
				Context    map[string]json.RawMessage `json:"context"`
				ContextCut []string                   `json:"context_cut"`
			}
			if err := json.Unmarshal(ev.Payload.CustomDetails, &details); err != nil {
				t.Fatalf("custom_details: %v", err)
			}
			if details.Customer != tc.customer || !slices.Equal(details.ContextCut, tc.wantCut) {
				t.Errorf("details of customer %q cut %q; want %q cut %q", details.Customer, details.ContextCut, tc.customer, tc.wantCut)
			}
			if ip, ok := tc.context["$.ip"]; ok && string(details.Context["$.ip"]) != string(ip) {
				t.Errorf("the small value $.ip is %s in the details; want it kept, %s", details.Context["$.ip"], ip)
			}
		})
	}
}
