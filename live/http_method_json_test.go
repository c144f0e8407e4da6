package live_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
)

// TestHTTPOtherMethodOnDaemonEndpointsAnswersJSON405: live/API.md says every error
// answer is {"error": …}, and routes answers a known path asked with another method
// 405 in JSON — but only for /v1/rules, /v1/counts and /v1/state. /healthz, /readyz and
// /metrics, documented in the same file, fall to the console's catch-all "/" and get
// net/http's text/plain "404 page not found", as if they did not exist.
func TestHTTPOtherMethodOnDaemonEndpointsAnswersJSON405(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, body := d.request(t, "POST", path, "", nil)
		var e contract.ErrorResponse
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("POST %s: %d %q %q, want 405 with {\"error\": …} in JSON", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}
