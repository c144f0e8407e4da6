package notify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// TestShownValueKeepsTheMemberRulesSee: an event object with a repeated member name
// is what a rule's paths read by its first occurrence ($.actor.role is "admin"), and
// live's context keeps the object as written. The Slack context block (and the
// PagerDuty summary) decoded and re-encoded it through map[string]any, which kept the
// last occurrence and sorted the names: the channel read role "guest" for an alert
// raised on an admin (found by a review helper).
func TestShownValueKeepsTheMemberRulesSee(t *testing.T) {
	t.Parallel()
	const event = `{"user":"u","actor":{"role":"admin","name":"x","role":"guest"}}`
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(event)); err != nil {
		t.Fatal(err)
	}
	if got := jsonpath.MustParse(`$.actor.role`).Eval(doc, nil); len(got) != 1 || got[0].Str() != "admin" {
		t.Fatalf("$.actor.role = %v, want admin", got)
	}
	a := testAlert()
	a.Context = liveContext(t, []string{"$.actor"}, event)
	t.Logf("context on the alerts topic: %s", a.Context["$.actor"])
	block := slackMessage(a).Blocks[1].Text.Text
	t.Logf("Slack context block: %q", block)
	if !strings.Contains(block, `"role":"admin"`) {
		t.Errorf("Slack shows %q for $.actor, whose role rules read as \"admin\" (the topic holds %s)", block, a.Context["$.actor"])
	}
}

// TestShownValue: the escapes of <, > and & in strings are written as the characters;
// everything else stays as live wrote it (an escaped backslash before "u003c" is not
// an escape of <).
func TestShownValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, want string }{
		{`"AT\u0026T \u003c!channel\u003e"`, `"AT&T <!channel>"`},
		{`"a\\u003cb"`, `"a\\u003cb"`},
		{`"\"\u003C"`, `"\"<"`},
		{`{"b":1,"a":"\u0026","b":2}`, `{"b":1,"a":"&","b":2}`},
		{`1e400`, `1e400`},
		{`12345678901234567890`, `12345678901234567890`},
		{`"\u00e9"`, `"\u00e9"`},
	} {
		if got := shownValue(json.RawMessage(tc.raw)); got != tc.want {
			t.Errorf("shownValue(%s) = %s, want %s", tc.raw, got, tc.want)
		}
	}
}
