package live_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
)

// TestHTTPUnknownEscapedPathsAnswerJSON: live/API.md says every error answer is
// {"error": …}, and routes (http.go) promises that "the rest of /v1/ answers as the API
// does, in JSON". A path under /v1/ whose slash is percent-encoded (%2F) is routed by
// the daemon's /v1/ catch-all to the console (its decoded path starts /v1/console/),
// but the console's mux matches the escaped path, found nothing, and net/http answered
// its own text/plain "404 page not found" (found by a review helper).
func TestHTTPUnknownEscapedPathsAnswerJSON(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	for _, path := range []string{"/v1/console%2Frules", "/v1/console%2Finfo", "/v1/console%2Fnope"} {
		resp, body := d.request(t, "GET", path, "", nil)
		var e contract.ErrorResponse
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("GET %s: %d %q %q, want 404 with {\"error\": …} in JSON", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}
