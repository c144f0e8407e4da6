package console_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
)

// TestWindowsRefuseAnotherRulesCursor: a windows cursor pages one rule's listing, of
// one scope. One that named the customer alone was taken by any other rule's listing
// as a position there: bytes-per-user's cursor after acme, given to downloads, answered
// 200 with globex and initech, acme's downloads silently missing. A cursor of another
// rule, or of another scope, is refused with 400 naming cursor, as /v1/counts refuses
// one (live/cursor.go); the rule's own cursor still pages on.
func TestWindowsRefuseAnotherRulesCursor(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	produceWindowEvents(t, d, "")

	var first console.WindowsResponse
	if resp := call(t, "GET", d.url("/v1/console/windows?scope=*&id=bytes-per-user&limit=1"), "", nil, &first); resp.StatusCode != 200 || first.NextCursor == "" {
		t.Fatalf("bytes-per-user's first page: %d, next_cursor %q", resp.StatusCode, first.NextCursor)
	}
	var own console.WindowsResponse
	if resp := call(t, "GET", d.url("/v1/console/windows?scope=*&id=bytes-per-user&limit=1&cursor="+url.QueryEscape(first.NextCursor)), "", nil, &own); resp.StatusCode != 200 ||
		len(own.Counts) != 1 || own.Counts[0].Customer != "globex" {
		t.Fatalf("bytes-per-user's second page: %d %+v; want globex", resp.StatusCode, own.Counts)
	}
	// The same position in scope acme: a rule of another scope, by the same id.
	otherScope := base64.RawURLEncoding.EncodeToString([]byte(`["windows","acme","bytes-per-user","acme"]`))
	for _, path := range []string{
		"/v1/console/windows?scope=*&id=downloads&cursor=" + url.QueryEscape(first.NextCursor),
		"/v1/console/windows?scope=*&id=bytes-per-user&cursor=" + otherScope,
	} {
		var e struct {
			contract.ErrorResponse
			console.WindowsResponse
		}
		if resp := call(t, "GET", d.url(path), "", nil, &e); resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "cursor") {
			t.Errorf("GET %s: %d %q, customers %v; want 400 naming cursor: a cursor of another rule's listing", path, resp.StatusCode, e.Error, customers(e.Counts))
		}
	}
}

func customers(vs []contract.CountView) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Customer)
	}
	return out
}
