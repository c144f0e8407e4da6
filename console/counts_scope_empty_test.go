package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestConsoleCountsRefuseAnEmptyScope: the daemon's GET /v1/counts answers scope=
// (given empty) 400, "as no rule has that scope" — an empty parameter is never taken
// as absent, which "would answer another question" (live/API.md); console/API.md reads
// a query "as the daemon's API reads it". The console's counts and windows take
// scope= as the global scope (cmp.Or) and answer the "*" rule's counts with 200.
func TestConsoleCountsRefuseAnEmptyScope(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(loginRule), &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("saving */login-failures: %d %+v", resp.StatusCode, s)
	}
	for _, path := range []string{
		"/v1/counts?scope=&rule=login-failures", // the daemon's: the reference
		"/v1/console/counts?scope=&id=login-failures",
		"/v1/console/windows?scope=&id=login-failures",
	} {
		resp, data := livetest.Request(t, "GET", d.url(path), nil, func(*http.Request) {})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "scope") {
			t.Errorf("GET %s: %d %s; want 400 naming scope (no rule has an empty scope), not the global rule's counts",
				path, resp.StatusCode, strings.TrimSpace(string(data)))
		}
	}
}
