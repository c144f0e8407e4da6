package console_test

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
)

// TestAutoVersionPastTheLargestIsNotPublished: API.md, POST /v1/console/rules: status
// "invalid" (422) means "the draft does not validate; nothing published". A rule whose
// active version is the largest allowed (rule.MaxSafeInteger, 2^53) and which is then
// changed without a version gets, from the console, the version after it: a version no
// control may carry. The console publishes it anyway; the daemon rejects it, the rule
// shows state "error" and the rejected control is listed, and the answer is 422
// "invalid" with an offset (something was published).
func TestAutoVersionPastTheLargestIsNotPublished(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	var s console.SaveResponse
	top := strings.Replace(loginRule, `"id"`, `"version":9007199254740992,"id"`, 1)
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(top), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("save at version 2^53: %d %+v, want 200 ok", resp.StatusCode, s)
	}
	changed := strings.Replace(loginRule, `"threshold":3`, `"threshold":4`, 1)
	resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(changed), &s)
	if resp.StatusCode == 422 && s.Offset != -1 {
		t.Errorf("change without a version: %d %+v: answered invalid but published at controls offset %d (API.md: invalid, nothing published)",
			resp.StatusCode, s, s.Offset)
	}
	if n := d.b.TopicRecords(t, "controls"); n != 1 {
		t.Errorf("controls topic holds %d records, want 1 (the console picked version %d, which no control may carry, and published it)", n, s.Version)
	}
	var rules console.RulesResponse
	call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
	if len(rules.Rules) != 1 || rules.Rules[0].State == "error" || len(rules.Invalid) != 0 {
		t.Errorf("after the refused change the rule is %+v, rejected controls %+v: want it live, nothing rejected", rules.Rules, rules.Invalid)
	}
}
