package live_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
)

// TestConsoleEndpointWithAnotherMethodIs405: the daemon answers its own endpoints
// asked with another method 405 with Allow (live/API.md), but a console endpoint that
// exists, asked with a method it does not take (GET of validate, PUT of rules), is
// 404 "no such console endpoint: GET /v1/console/validate": the console's catch-all
// "/v1/console/" (console/console.go) matches before net/http can see that the path
// exists with other methods, and its answer tells the caller the endpoint is not
// there, when the method is what is wrong.
func TestConsoleEndpointWithAnotherMethodIs405(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	for _, tt := range []struct{ method, path, allow string }{
		{"GET", "/v1/console/validate", "POST"},
		{"PUT", "/v1/console/rules", "GET"},
		{"POST", "/v1/console/counts", "GET"},
	} {
		resp, body := d.request(t, tt.method, tt.path, "", nil)
		var e contract.ErrorResponse
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), tt.allow) ||
			json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("%s %s: %d Allow %q %s; want 405 with Allow naming %s, in JSON", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), strings.TrimSpace(body), tt.allow)
		}
	}
}
