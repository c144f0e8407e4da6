package live_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestCountsEmptyCustomerIsRefused: live/API.md has /v1/counts?customer=C answer one
// customer's count, refuse with 400 a customer no event can have, and never take a
// parameter given as absent ("a mangled customer every customer"). An event with an
// empty key goes to the dead-letter topic (missing_key), so customer= (given, empty)
// names no customer; the daemon takes it as absent and answers 200 with the listing
// of every customer's count, another shape for another question. scope= (given,
// empty) was taken as the global scope the same way.
func TestCountsEmptyCustomerIsRefused(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	r := livetest.ParseRule(t, `{"id":"any","scope":"*","when":{"path":"$.type"},"threshold":1000}`)
	d.b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d.Daemon, r.Key(), 1)
	d.b.Produce(t, ev("c-1", downloaded), ev("c-2", downloaded))
	waitSeen(t, d.Daemon, 2)

	for _, tt := range []struct{ query, says string }{
		{"rule=any&customer=", "customer"},
		// scope= is no more the global scope than customer= is every customer: no rule
		// has an empty scope.
		{"rule=any&scope=", "scope"},
		{"rule=any&scope=&customer=c-1", "scope"},
	} {
		resp, body := d.request(t, "GET", "/v1/counts?"+tt.query, "", nil)
		var e contract.ErrorResponse
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, tt.says) {
			t.Errorf("/v1/counts?%s: %d %s; want 400 naming %s, given empty", tt.query, resp.StatusCode, body, tt.says)
		}
	}
}
