package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
)

// TestDeleteWithABodyIsRefused: a DELETE names what it deletes in its query and reads
// no body. A body was ignored: {"version": 1} sent by a client expecting only version 1
// to go deleted whichever version was active (here 2), answered 200 ok. As a query
// parameter the DELETE does not read is 400, so is a body: nothing is published, the
// rule and the mute stay.
func TestDeleteWithABodyIsRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	v2 := strings.Replace(loginRule, `"threshold":3`, `"threshold":4`, 1)
	for _, js := range []string{loginRule, v2} {
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(js), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("save: %d %+v, want 200 ok", resp.StatusCode, s)
		}
	}
	var s console.SaveResponse
	mute := map[string]any{"id": "deploy", "scope": "c-1", "rule": "*", "for": "2h"}
	if resp := call(t, "POST", d.url("/v1/console/mutes"), "", mute, &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("mute: %d %+v, want 200 ok", resp.StatusCode, s)
	}
	before := d.b.TopicRecords(t, "controls")
	for _, tc := range []struct{ path, want string }{
		{"/v1/console/rules?scope=*&id=login-failures", "DELETE /v1/console/rules takes no body"},
		{"/v1/console/mutes?scope=c-1&id=deploy", "DELETE /v1/console/mutes takes no body"},
	} {
		var e struct{ Error string }
		resp := call(t, "DELETE", d.url(tc.path), "", map[string]any{"version": 1}, &e)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, tc.want) {
			t.Errorf("DELETE %s with the body {\"version\": 1}: %d %+v; want 400 saying %q", tc.path, resp.StatusCode, e, tc.want)
		}
	}
	if n := d.b.TopicRecords(t, "controls"); n != before {
		t.Errorf("the DELETEs with a body published: controls records %d -> %d, want none", before, n)
	}
	var rules console.RulesResponse
	call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
	if len(rules.Rules) != 1 || rules.Rules[0].Version != 2 {
		t.Errorf("rules after the DELETE with a body: %+v, want version 2 of login-failures still active", rules.Rules)
	}
}
