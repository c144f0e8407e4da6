package notify

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestWebhookBody: a webhook receives the alert record itself, byte for byte what the
// alerts topic holds, and it decodes to the same contract.Alert.
func TestWebhookBody(t *testing.T) {
	t.Parallel()
	plain := &contract.Alert{AlertID: "a1", RuleID: "r", Scope: "*", Version: 1, Customer: "c",
		Count: 3, Threshold: rule.AtLeast(3), EventTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Source: contract.SourceBackfill, Aggregate: "count", Value: 3, Status: contract.StatusFiring, Severity: "medium"}
	over := testAlert()
	over.Threshold = rule.Threshold{Op: rule.OpGt, Value: 1000}
	over.Aggregate, over.Value = "sum", 1100.5
	// An object value as live writes one into a context (compacted, '<' kept):
	// json.Marshal wrote it back with \u003c, not the record's bytes.
	angled := testAlert()
	angled.Context = map[string]json.RawMessage{"$.req": json.RawMessage(`{"q":"<a&b>"}`)}
	for _, a := range []*contract.Alert{testAlert(), plain, over, angled} {
		b, err := Body(Target{Name: "hook", Type: TypeWebhook}, a)
		if err != nil {
			t.Fatal(err)
		}
		if want := a.AppendJSON(nil); !bytes.Equal(b, want) {
			t.Errorf("body\n%s\nwant the record\n%s", b, want)
		}
		var back contract.Alert
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&back, a) {
			t.Errorf("round trip\n got %+v\nwant %+v", back, *a)
		}
	}
}

func TestPagerDutyBody(t *testing.T) {
	t.Parallel()
	target := Target{Name: "pd", Type: TypePagerDuty, URL: "https://events.pagerduty.com/v2/enqueue", Secret: []byte("R0UTINGKEY")}
	for _, tc := range []struct{ severity, want string }{
		{"info", "info"}, {"low", "info"}, {"medium", "warning"}, {"high", "error"}, {"critical", "critical"}, {"", "warning"},
	} {
		a := testAlert()
		a.Severity = tc.severity
		a.EventTime = a.EventTime.Add(123 * time.Millisecond) // the timestamp is event_time, fractions kept
		b, err := Body(target, a)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			RoutingKey  string `json:"routing_key"`
			EventAction string `json:"event_action"`
			DedupKey    string `json:"dedup_key"`
			Payload     struct {
				Summary       string          `json:"summary"`
				Source        string          `json:"source"`
				Severity      string          `json:"severity"`
				Timestamp     string          `json:"timestamp"`
				CustomDetails json.RawMessage `json:"custom_details"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		p := e.Payload
		if e.RoutingKey != "R0UTINGKEY" || e.EventAction != "trigger" || e.DedupKey != a.AlertID ||
			p.Summary != Summary(a) || p.Source != "hindsight" || p.Severity != tc.want || p.Timestamp != "2026-01-01T12:04:03.123Z" {
			t.Errorf("severity %q: event %s", tc.severity, b)
		}
		if want := a.AppendJSON(nil); !bytes.Equal(p.CustomDetails, want) {
			t.Errorf("custom_details %s, want the alert %s", p.CustomDetails, want)
		}
	}

	// A resolve carries only what PagerDuty needs to find the incident.
	a := testAlert()
	a.Status = contract.StatusResolved
	b, err := Body(target, a)
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"routing_key": "R0UTINGKEY", "event_action": "resolve", "dedup_key": a.AlertID}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("resolve %s, want %v", b, want)
	}

	// PagerDuty caps the summary at 1024 characters.
	long := testAlert()
	long.Group = map[string]json.RawMessage{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		long.Group["$."+k] = json.RawMessage(`"` + strings.Repeat("é", 200) + `"`)
	}
	b, err = Body(target, long)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Payload struct {
			Summary string `json:"summary"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(ev.Payload.Summary); n != 1024 || !strings.HasSuffix(ev.Payload.Summary, "…") {
		t.Errorf("long summary: %d characters", n)
	}
}

func TestSlackBody(t *testing.T) {
	t.Parallel()
	type message struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Elements []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	decode := func(a *contract.Alert) message {
		t.Helper()
		b, err := Body(Target{Name: "chan", Type: TypeSlack}, a)
		if err != nil {
			t.Fatal(err)
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	m := decode(testAlert())
	for _, want := range []string{"[HIGH]", "login-failures", "c-1", "firing", "count 5 &gt;= 5"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text %q lacks %q", m.Text, want)
		}
	}
	var types []string
	for _, b := range m.Blocks {
		types = append(types, b.Type)
	}
	if !slices.Equal(types, []string{"section", "section", "context"}) || m.Blocks[0].Text.Text != m.Text ||
		m.Blocks[1].Text.Text != `Context:`+"\n"+`• $.ip = "10.0.0.7"` ||
		m.Blocks[2].Elements[0].Text != "alert 4eea7bd5f04ebd8a189b830a5db20b3d · rule */login-failures v2 · live · event 2026-01-01T12:04:03Z" {
		t.Errorf("blocks %+v", m.Blocks)
	}

	// A context value left out to keep the alert within its bound says so.
	cut := testAlert()
	cut.Context, cut.ContextCut = map[string]json.RawMessage{"$.ip": json.RawMessage(`"10.0.0.7"`), "$.note": json.RawMessage(`null`)}, []string{"$.note"}
	if m := decode(cut); len(m.Blocks) != 3 || m.Blocks[1].Text.Text != `Context:`+"\n"+`• $.ip = "10.0.0.7"`+"\n"+`• $.note = (left out: alert too large)` {
		t.Errorf("blocks of an alert with its context cut %+v", m.Blocks)
	}

	// A resolved record repeats its firing's count and value, and has no context.
	resolved := testAlert()
	resolved.Status, resolved.Context = contract.StatusResolved, nil
	m = decode(resolved)
	if !strings.Contains(m.Text, "[HIGH] rule login-failures resolved for customer c-1") || strings.Contains(m.Text, "firing") ||
		!strings.Contains(m.Text, "count 5, threshold &gt;= 5") || len(m.Blocks) != 2 || m.Blocks[1].Type != "context" {
		t.Errorf("resolved message %+v", m)
	}

	// Text from events cannot mention a channel or link: <, > and & are escaped.
	evil := testAlert()
	evil.Group = map[string]json.RawMessage{"$.user": json.RawMessage(`"<!channel> & <https://evil.example|click>"`)}
	m = decode(evil)
	if strings.ContainsAny(m.Text, "<>") || !strings.Contains(m.Text, `&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;`) {
		t.Errorf("escaped text %q", m.Text)
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 23, 50, 0, 0, time.UTC)
	midnight := start.Add(10 * time.Minute)
	later := start.Add(2 * time.Hour)
	odd := start.Add(90 * time.Second)
	for _, tc := range []struct {
		name string
		edit func(a *contract.Alert)
		want string
	}{
		{"windowed count", func(*contract.Alert) {},
			`[HIGH] rule login-failures firing for customer c-1 (group user="bob"): count 5 >= 5, window 2026-01-01 12:00–12:10 UTC`},
		{"resolved", func(a *contract.Alert) { a.Status, a.Context = contract.StatusResolved, nil },
			`[HIGH] rule login-failures resolved for customer c-1 (group user="bob"): count 5, threshold >= 5, window 2026-01-01 12:00–12:10 UTC`},
		{"sum over a threshold operator, two group values", func(a *contract.Alert) {
			a.Aggregate, a.Value, a.Threshold = "sum", 1100.5, rule.Threshold{Op: rule.OpGt, Value: 1000}
			a.Group = map[string]json.RawMessage{"$.user": json.RawMessage(`"u1"`), "$.app": json.RawMessage(`null`)}
		}, `[HIGH] rule login-failures firing for customer c-1 (group $.app=null, $.user="u1"): sum 1100.5 > 1000, window 2026-01-01 12:00–12:10 UTC`},
		{"a group value cut to keep the alert within its bound", func(a *contract.Alert) {
			a.Group = map[string]json.RawMessage{"$.user": json.RawMessage(`null`), "$.app": json.RawMessage(`null`)}
			a.GroupCut = []string{"$.user"}
		}, `[HIGH] rule login-failures firing for customer c-1 (group $.app=null, $.user=(left out: alert too large)): count 5 >= 5, window 2026-01-01 12:00–12:10 UTC`},
		{"running total without group or aggregate name", func(a *contract.Alert) {
			a.Group, a.WindowStart, a.WindowEnd, a.Aggregate, a.Severity = nil, nil, nil, "", ""
		}, `rule login-failures firing for customer c-1: count 5 >= 5`},
		{"window ending at midnight", func(a *contract.Alert) { a.WindowStart, a.WindowEnd = &start, &midnight },
			`[HIGH] rule login-failures firing for customer c-1 (group user="bob"): count 5 >= 5, window 2026-01-01 23:50–00:00 UTC`},
		{"window across midnight", func(a *contract.Alert) { a.WindowStart, a.WindowEnd = &start, &later },
			`[HIGH] rule login-failures firing for customer c-1 (group user="bob"): count 5 >= 5, window 2026-01-01 23:50 – 2026-01-02 01:50 UTC`},
		{"window off the minute", func(a *contract.Alert) { a.WindowStart, a.WindowEnd = &start, &odd },
			`[HIGH] rule login-failures firing for customer c-1 (group user="bob"): count 5 >= 5, window 2026-01-01 23:50:00–23:51:30 UTC`},
	} {
		a := testAlert()
		tc.edit(a)
		if got := Summary(a); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestBodyUnknownType(t *testing.T) {
	t.Parallel()
	if _, err := Body(Target{Name: "x", Type: "sms"}, testAlert()); err == nil || err.Error() != `notify: destination "x": unknown type "sms" (want webhook, slack or pagerduty)` {
		t.Errorf("err = %v", err)
	}
}
