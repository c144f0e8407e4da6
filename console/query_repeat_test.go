package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestDeleteWithARepeatedParameterIsRefused: a body naming a field twice is refused
// (400) because "the last silently won (a mute of c-1 muted every customer)". A
// DELETE's query naming scope twice is as ambiguous, and destructive: which of the
// two rules did the client mean? The console deletes the first scope's rule and
// answers 200 (another reader, a proxy or framework that keeps the last, would have
// deleted the other). It should be 400 naming the parameter, nothing published.
func TestDeleteWithARepeatedParameterIsRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, scope := range []string{"*", "c-1"} {
		rl := strings.Replace(loginRule, `"scope":"*"`, `"scope":"`+scope+`"`, 1)
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(rl), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("saving %s/login-failures: %d %+v", scope, resp.StatusCode, s)
		}
	}
	for _, q := range []string{"scope=*&id=login-failures&scope=c-1", "scope=c-1&id=login-failures&id=other"} {
		before := d.b.TopicRecords(t, "controls")
		resp, data := livetest.Request(t, "DELETE", d.url("/v1/console/rules?"+q), nil, func(*http.Request) {})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("DELETE /v1/console/rules?%s: %d %s (controls %d → %d records); want 400 naming the repeated parameter, nothing deleted",
				q, resp.StatusCode, strings.TrimSpace(string(data)), before, d.b.TopicRecords(t, "controls"))
		}
	}
}
