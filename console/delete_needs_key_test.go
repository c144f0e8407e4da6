package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestDeleteWithoutScopeOrIDIsABadRequest: a DELETE naming only one of scope and id
// is the client's mistake (400, saying both are required), not a rule that is not
// found. That had no test (a mutation hunt: refusing only a DELETE lacking both passed
// every console test, and a DELETE of scope=* alone answered 404 not_found).
func TestDeleteWithoutScopeOrIDIsABadRequest(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, q := range []string{"scope=*", "id=login-failures", "scope=*&id=", "scope=&id=login-failures"} {
		resp, data := livetest.Request(t, "DELETE", d.url("/v1/console/rules?"+q), nil, func(*http.Request) {})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "scope and id are required") {
			t.Errorf("DELETE /v1/console/rules?%s: %d %s; want 400 saying scope and id are required", q, resp.StatusCode, strings.TrimSpace(string(data)))
		}
	}
}
