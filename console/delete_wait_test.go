package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestDeleteReadsWaitMSAndAnswersTheVersionDeleted: a rule's DELETE takes wait_ms as a
// save does (a positive number, else 400 and nothing published; the wait it asks for,
// not the default) and answers the version it deleted. None of that had a test (a
// mutation hunt: ignoring the wait_ms given, taking a malformed one as absent, and
// answering the delete without its version each passed every console test).
func TestDeleteReadsWaitMSAndAnswersTheVersionDeleted(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	v2 := strings.Replace(loginRule, `"threshold":3`, `"threshold":4`, 1)
	for _, js := range []string{loginRule, v2} {
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(js), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("save: %d %+v, want 200 ok", resp.StatusCode, s)
		}
	}
	before := d.b.TopicRecords(t, "controls")
	for _, w := range []string{"0", "-5", "abc", "1.5"} {
		resp, data := livetest.Request(t, "DELETE", d.url("/v1/console/rules?scope=*&id=login-failures&wait_ms="+w), nil, func(*http.Request) {})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "wait_ms must be a positive number") {
			t.Errorf("DELETE with wait_ms=%s: %d %s; want 400 saying wait_ms must be a positive number", w, resp.StatusCode, strings.TrimSpace(string(data)))
		}
	}
	if n := d.b.TopicRecords(t, "controls"); n != before {
		t.Fatalf("the refused DELETEs published: controls records %d -> %d", before, n)
	}

	// No status comes, so the answer is pending after the wait asked for, which its
	// message names (the default, StatusWait, is 10s).
	dropStatuses(t, d)
	var s console.SaveResponse
	resp := call(t, "DELETE", d.url("/v1/console/rules?scope=*&id=login-failures&wait_ms=700"), "", nil, &s)
	if resp.StatusCode != http.StatusAccepted || s.Status != "pending" || s.Op != "delete" || s.Version != 2 ||
		s.Offset != before || !strings.Contains(s.Message, "within 700ms") {
		t.Errorf("DELETE with wait_ms=700 and no status: %d %+v; want 202 pending, op delete, version 2, offset %d, message naming 700ms",
			resp.StatusCode, s, before)
	}
}
