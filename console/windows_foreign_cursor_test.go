package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestWindowsRefuseAnotherListingsCursor: GET /v1/console/windows is "400 for … a
// cursor this API did not give". The mutes listing's next_cursor (base64url of
// ["SCOPE","ID"]) is taken by windows as the customer to page after: the answer is
// 200, "the last page", without the customers that sort before `["*",…` (every
// upper-case or digit-led id) — a silently cut listing. The mutes listing likewise
// takes a forged pair with a third member. Each should be 400.
func TestWindowsRefuseAnotherListingsCursor(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(loginRule), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving the rule: %d %+v", resp.StatusCode, s)
	}
	for _, id := range []string{"m1", "m2"} {
		if resp := call(t, "POST", d.url("/v1/console/mutes"), "", map[string]any{"id": id, "for": "2h", "reason": "x"}, &s); resp.StatusCode != 200 {
			t.Fatalf("muting %s: %d %+v", id, resp.StatusCode, s)
		}
	}
	var mp struct {
		NextCursor string `json:"next_cursor"`
	}
	call(t, "GET", d.url("/v1/console/mutes?limit=1"), "", nil, &mp)
	if mp.NextCursor == "" {
		t.Fatal("no mutes cursor")
	}
	now := time.Now()
	produce(t, d.b, []event{{customer: "Acme", typ: "login.failed", at: now}, {customer: "7eleven", typ: "login.failed", at: now}})
	poll.Until(t, 30*time.Second, "both customers counted", func() bool {
		var w console.WindowsResponse
		call(t, "GET", d.url("/v1/console/windows?id=login-failures"), "", nil, &w)
		return len(w.Counts) == 2
	})
	for _, path := range []string{
		"/v1/console/windows?id=login-failures&cursor=" + mp.NextCursor,
		"/v1/console/mutes?cursor=WyIqIiwibTEiLCJ4Il0", // ["*","m1","x"]
	} {
		resp, data := livetest.Request(t, "GET", d.url(path), nil, func(*http.Request) {})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s; want 400: a cursor this API did not give", path, resp.StatusCode, strings.TrimSpace(string(data)))
		}
	}
}
