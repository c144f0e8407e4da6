package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live/livetest"
)

// postJSON sends body as JSON to path of d, returning the status and the answer.
func postJSON(t *testing.T, d *daemon, path, body string) (int, string) {
	t.Helper()
	resp, data := livetest.Request(t, "POST", d.url(path), strings.NewReader(body), func(r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
	})
	return resp.StatusCode, strings.TrimSpace(string(data))
}

// TestFieldNamedTwiceInAnotherCaseIsRefused: a request body naming a field twice is
// refused (readJSON, jsontext.RepeatedKey), since which of the two counts is the
// reader's choice. The check compares names byte for byte, and encoding/json, which
// decoded the body, matched field names without regard to case: {"rule": A, "Rule": B}
// passed, and B was saved silently; a mute {"scope": "c-1", "Scope": "*"} muted every
// customer's alerts instead of c-1's. Each is refused (400), nothing published.
func TestFieldNamedTwiceInAnotherCaseIsRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	cases := []struct{ path, body string }{
		{"/v1/console/rules", `{"rule": {"id": "dupcase", "scope": "*", "when": {"path": "$.type", "op": "==", "value": "a"}, "threshold": 3},
		  "Rule": {"id": "dupcase", "scope": "*", "when": {"path": "$.type", "op": "==", "value": "b"}, "threshold": 9}}`},
		{"/v1/console/mutes", `{"id": "deploy", "scope": "c-1", "Scope": "*", "rule": "*", "for": "2h", "reason": "deploy of c-1"}`},
		{"/v1/console/preview", `{"rule": {"scope": "*", "when": {"path": "$.type", "op": "==", "value": "a"}, "threshold": 3}, "sample": 10, "SAMPLE": 100}`},
	}
	for _, c := range cases {
		before := d.b.TopicRecords(t, "controls")
		code, answer := postJSON(t, d, c.path, c.body)
		after := d.b.TopicRecords(t, "controls")
		if code != http.StatusBadRequest || after != before {
			t.Errorf("POST %s with a field named twice in another case:\n  %s\nanswered %d %s; %d records published; want 400 (a field named twice) and nothing published",
				c.path, c.body, code, answer, after-before)
		}
	}
}

// TestMuteUntilYearOneIsRefused: API.md, POST /v1/console/mutes: "an until already
// past (a mute that would mute nothing) … is 400; nothing is published". An until of
// 0001-01-01T00:00:00Z is past, but it is Go's zero time, which a mute reads as "no
// end": it was published as a mute of c-1 until deleted, answered 200 ok.
func TestMuteUntilYearOneIsRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	before := d.b.TopicRecords(t, "controls")
	code, answer := postJSON(t, d, "/v1/console/mutes", `{"id": "ended", "scope": "c-1", "rule": "*", "until": "0001-01-01T00:00:00Z"}`)
	after := d.b.TopicRecords(t, "controls")
	if code != http.StatusBadRequest || after != before {
		_, mutes := livetest.Request(t, "GET", d.url("/v1/console/mutes"), nil, nil)
		t.Errorf("mute with until 0001-01-01T00:00:00Z (past): answered %d %s, %d records published, mutes now %s; want 400 (until is past) and nothing published",
			code, answer, after-before, strings.TrimSpace(string(mutes)))
	}
}
