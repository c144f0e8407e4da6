package console_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestConsoleEndpointsRefuseParametersTheyDoNotRead: console/API.md says a query
// string is read whole, "each one the endpoint reads (the names written here for
// it), else 400 naming the parameter (… ?lmit=5; an unknown name's answer lists the
// names the endpoint reads)". Only the listings with parameters read their query;
// every other console endpoint answers as if none was given: ?limit=5 on the
// deliveries is all 500 of them, ?scope=c-1 on the rules or destinations every
// scope's, a validate ?lmit= validated. Each should be 400 naming the parameter.
func TestConsoleEndpointsRefuseParametersTheyDoNotRead(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	body := `{"rule":` + loginRule + `}`
	for _, tc := range []struct {
		method, path, param, body string
	}{
		{"GET", "/v1/console/rules?scope=c-1", "scope", ""},
		{"GET", "/v1/console/rules?lmit=5", "lmit", ""},
		{"GET", "/v1/console/deliveries?limit=5", "limit", ""},
		{"GET", "/v1/console/destinations?scope=c-1", "scope", ""},
		{"GET", "/v1/console/info?verbose=1", "verbose", ""},
		{"POST", "/v1/console/validate?lmit=5", "lmit", body},
		{"GET", "/v1/console/rules?scope=*&scope=c-1", "scope", ""},
	} {
		var rd io.Reader
		if tc.body != "" {
			rd = bytes.NewReader([]byte(tc.body))
		}
		resp, data := livetest.Request(t, tc.method, d.url(tc.path), rd, func(r *http.Request) {
			if tc.body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
		})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), tc.param) {
			got := string(data)
			if len(got) > 120 {
				got = got[:120] + "…"
			}
			t.Errorf("%s %s: %d %s; want 400 naming %q (console/API.md: a parameter the endpoint does not read is refused)",
				tc.method, tc.path, resp.StatusCode, strings.TrimSpace(got), tc.param)
		}
	}
}
