package live_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
)

// TestHTTPUnknownPathsAndMethodsAnswerJSON: live/API.md and console/API.md both say
// every error answer is {"error": …}. A path outside /v1/ that no endpoint serves
// (a typo of /healthz, /healthz/ with a trailing slash, /v2/rules) and a method the
// console's page does not take (OPTIONS /, POST /console/app.js) fall through the
// console's mux (console/console.go, which routes only "GET /{$}", "GET /console/" and
// /v1/console/) to net/http's own text/plain "404 page not found" and "Method Not
// Allowed".
func TestHTTPUnknownPathsAndMethodsAnswerJSON(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	for _, tt := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/healthzz", http.StatusNotFound},
		{"GET", "/healthz/", http.StatusNotFound},
		{"GET", "/v2/rules", http.StatusNotFound},
		{"OPTIONS", "/", http.StatusMethodNotAllowed},
		{"POST", "/console/app.js", http.StatusMethodNotAllowed},
	} {
		resp, body := d.request(t, tt.method, tt.path, "", nil)
		var e contract.ErrorResponse
		if resp.StatusCode != tt.code || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("%s %s: %d %q %q; want %d with {\"error\": …} in JSON", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.code)
		}
	}
}
