package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hindsightdev/hindsight/contract"
)

// Limits of the receivers' fields, in characters: longer text is cut (with "…") rather
// than refused by the receiver.
const (
	slackTextMax     = 3000 // a section block's text
	pagerDutySummary = 1024 // payload.summary
	// pagerDutyMaxEvent is the Events API v2's bound on an event, in bytes: "Events
	// API payloads are limited to 512 KB" (taken as 512,000).
	pagerDutyMaxEvent = 512_000
	summaryValueMax   = 100 // one group value in a summary
)

// Body is the request body of alert a for destination t's type: the alert's JSON for a
// webhook, an incoming-webhook message for Slack, an Events API v2 event for PagerDuty.
func Body(t Target, a *contract.Alert) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	switch t.Type {
	case TypeWebhook:
		// The record's own bytes: json.Marshal wrote a context's raw '<' as \u003c.
		b = a.AppendJSON(nil)
	case TypeSlack:
		b, err = json.Marshal(slackMessage(a))
	case TypePagerDuty:
		if len(t.Secret) == 0 {
			return nil, fmt.Errorf("notify: destination %q: a pagerduty destination needs its routing key as the secret", t.Name)
		}
		b, err = pagerDutyBody(t, a)
	default:
		return nil, fmt.Errorf("notify: destination %q: unknown type %q (want %s, %s or %s)", t.Name, t.Type, TypeWebhook, TypeSlack, TypePagerDuty)
	}
	if err != nil {
		return nil, fmt.Errorf("notify: destination %q: encoding the %s body of alert %s: %w", t.Name, t.Type, a.AlertID, err)
	}
	return b, nil
}

// Summary is alert a in one line for people, as PagerDuty shows it (Slack's is
// slackSummary's):
//
//	[HIGH] rule login-failures firing for customer c-1 (group $.user="bob"): count 5 >= 5, window 2026-01-01 12:00–12:10 UTC
func Summary(a *contract.Alert) string {
	return summary(a, false)
}

// summary is Summary, with the customer written for Slack's mrkdwn when slack is set
// (customerText).
func summary(a *contract.Alert, slack bool) string {
	var b strings.Builder
	if a.Severity != "" {
		b.WriteString("[" + strings.ToUpper(a.Severity) + "] ")
	}
	status := a.Status
	if status == "" {
		status = contract.StatusFiring
	}
	fmt.Fprintf(&b, "rule %s %s for customer %s", a.RuleID, status, customerText(a.Customer, slack))
	if len(a.Group) > 0 {
		b.WriteString(" (group ")
		for i, k := range slices.Sorted(maps.Keys(a.Group)) {
			if i > 0 {
				b.WriteString(", ")
			}
			v := clip(shownValue(a.Group[k]), summaryValueMax)
			if slices.Contains(a.GroupCut, k) {
				v = leftOut
			}
			b.WriteString(k + "=" + v)
		}
		b.WriteString(")")
	}
	b.WriteString(": ")
	if a.Aggregate == "" {
		b.WriteString("count " + strconv.FormatInt(a.Count, 10))
	} else {
		b.WriteString(a.Aggregate + " " + string(contract.AppendJSONFloat(nil, a.Value)))
	}
	// A resolved record repeats its firing's value; apart from the threshold it does
	// not read as a crossing happening now.
	if status == contract.StatusResolved {
		b.WriteString(", threshold " + a.Threshold.String())
	} else {
		b.WriteString(" " + a.Threshold.String())
	}
	if a.WindowStart != nil && a.WindowEnd != nil {
		b.WriteString(", window " + windowText(a.WindowStart.UTC(), a.WindowEnd.UTC()))
	}
	return b.String()
}

// shownValue is a group or context value as people read it: its JSON as live wrote
// it, but for <, > and & in strings, which live writes as \u003c, \u003e and \u0026
// and a Slack channel or a PagerDuty summary would show so ("AT\u0026T"): those
// escapes are written as the characters (Slack's own escaping follows, slackEscape).
// Nothing else changes: members keep their order and repeats, as rules read them.
func shownValue(raw json.RawMessage) string {
	if !bytes.Contains(raw, []byte(`\u00`)) {
		return string(raw)
	}
	out := make([]byte, 0, len(raw))
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(raw):
			if raw[i+1] == 'u' && i+6 <= len(raw) {
				switch strings.ToLower(string(raw[i+2 : i+6])) {
				case "003c", "003e", "0026":
					out = append(out, byte(hexByte(raw[i+4])<<4|hexByte(raw[i+5])))
					i += 5
					continue
				}
			}
			out = append(out, c, raw[i+1]) // an escape: both bytes, so that \\ is not read as the start of another
			i++
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// hexByte is the value of hexadecimal digit c.
func hexByte(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// windowText is "2026-01-01 12:00–12:10 UTC": the end's date is written only when it
// is not the start's, save for the midnight that ends the start's day.
func windowText(start, end time.Time) string {
	layout := "15:04"
	if start.Second() != 0 || end.Second() != 0 {
		layout = "15:04:05"
	}
	s := start.Format("2006-01-02 " + layout)
	sy, sm, sd := start.Date()
	ey, em, ed := end.Date()
	if sy == ey && sm == em && sd == ed || end.Equal(time.Date(sy, sm, sd+1, 0, 0, 0, 0, time.UTC)) {
		return s + "–" + end.Format(layout) + " UTC"
	}
	return s + " – " + end.Format("2006-01-02 "+layout) + " UTC"
}

// Slack incoming-webhook message (https://api.slack.com/messaging/webhooks): Text is
// the notification's fallback, Blocks what the channel shows.
type slackMsg struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks,omitempty"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// leftOut stands for a group or context value the alert left out to keep within its
// size bound (contract.Alert.GroupCut, ContextCut): not null, since the path did
// select a value.
const leftOut = "(left out: alert too large)"

func slackMessage(a *contract.Alert) slackMsg {
	summary := slackEscape(summary(a, true), slackTextMax)
	blocks := []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: summary}}}
	if len(a.Context) > 0 {
		var b strings.Builder
		b.WriteString("Context:")
		for _, k := range slices.Sorted(maps.Keys(a.Context)) {
			v := shownValue(a.Context[k])
			if slices.Contains(a.ContextCut, k) {
				v = leftOut
			}
			b.WriteString("\n• " + k + " = " + v)
		}
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: slackEscape(b.String(), slackTextMax)}})
	}
	scope := a.Scope
	if scope != "*" { // a customer-scoped rule's scope is the customer's id
		scope = customerText(scope, true)
	}
	meta := fmt.Sprintf("alert %s · rule %s/%s v%d · %s · event %s", a.AlertID, scope, a.RuleID, a.Version, a.Source, a.EventTime.UTC().Format(time.RFC3339))
	blocks = append(blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: slackEscape(meta, slackTextMax)}}})
	return slackMsg{Text: summary, Blocks: blocks}
}

// slackEscape escapes &, < and > as Slack's mrkdwn requires, so that text from events
// (a group value "<!channel>") cannot become a mention or a link, and cuts the result
// to max characters without splitting an escape.
func slackEscape(s string, max int) string {
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	s = clip(s, max)
	body := strings.TrimSuffix(s, "…")
	if i := strings.LastIndexByte(body, '&'); i >= 0 && !strings.Contains(body[i:], ";") {
		s = body[:i] + "…"
	}
	return s
}

// PagerDuty Events API v2 event (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"`
}

type pdPayload struct {
	Summary   string `json:"summary"`
	Source    string `json:"source"`
	Severity  string `json:"severity"`
	Timestamp string `json:"timestamp,omitempty"`
	// CustomDetails is the alert record itself, as a webhook receives it: cut to fit
	// PagerDuty's bound, left out when even cut it does not (pagerDutyBody).
	CustomDetails *contract.Alert `json:"custom_details,omitempty"`
}

// pagerDutyBody is a's event for PagerDuty. An alert may be up to --alert-max-bytes
// (960 KiB less 1 KiB), and PagerDuty refuses an event over pagerDutyMaxEvent for good:
// the incident never opened. Over it, the details leave out the alert's context values,
// then its group values, the largest first, as an alert over --alert-max-bytes is cut
// (each listed in context_cut or group_cut); an alert that fits with none (a huge
// customer id) leaves the details out, and the summary still says what fired.
func pagerDutyBody(t Target, a *contract.Alert) ([]byte, error) {
	e := pagerDutyEvent(t, a)
	b, err := json.Marshal(e)
	if err != nil || len(b) <= pagerDutyMaxEvent || e.Payload == nil {
		return b, err
	}
	cut := *a
	e.Payload.CustomDetails = &cut
	if _, fits := cut.CutToFit(pagerDutyMaxEvent, func([]byte) int {
		n, _ := json.Marshal(e) // the event with cut as it stands
		return len(n)
	}); !fits {
		e.Payload.CustomDetails = nil
	}
	return json.Marshal(e)
}

func pagerDutyEvent(t Target, a *contract.Alert) pdEvent {
	e := pdEvent{RoutingKey: string(t.Secret), EventAction: "trigger", DedupKey: a.AlertID}
	if a.Status == contract.StatusResolved {
		// A resolve needs only the key: PagerDuty resolves the incident the trigger
		// with the same dedup_key opened.
		e.EventAction = "resolve"
		return e
	}
	p := &pdPayload{Summary: clip(Summary(a), pagerDutySummary), Source: "hindsight", Severity: pagerDutySeverity(a.Severity), CustomDetails: a}
	if !a.EventTime.IsZero() {
		p.Timestamp = a.EventTime.UTC().Format(time.RFC3339Nano) // as the alert's event_time: fractions kept
	}
	e.Payload = p
	return e
}

// pagerDutySeverity maps a rule's severity onto PagerDuty's four; an unknown one is
// "warning" (PagerDuty refuses an event without a valid severity).
func pagerDutySeverity(s string) string {
	switch s {
	case "info", "low":
		return "info"
	case "high":
		return "error"
	case "critical":
		return "critical"
	default: // medium, the rules' default
		return "warning"
	}
}

// clip cuts s to at most max characters, the last of them "…" when it cut.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
