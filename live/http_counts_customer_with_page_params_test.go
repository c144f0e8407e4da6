package live_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
)

// TestCountsOfOneCustomerRefusesAMalformedPageParameter: live/API.md says /v1/counts
// refuses a parameter it cannot read, 400 naming it, rather than answering another
// question. With customer= set, handleCounts answers the one customer's count before
// it reads limit or cursor at all, so a limit of "abc" or 0, or a cursor the API never
// gave, is taken without a word (200): a script that meant a listing and also sent
// customer= by mistake is never told that its paging parameters went unread.
func TestCountsOfOneCustomerRefusesAMalformedPageParameter(t *testing.T) {
	t.Parallel()
	d, _ := countingDaemon(t, nil)
	for _, tt := range []struct{ query, says string }{
		{"&customer=c-01&limit=abc", "limit"},
		{"&customer=c-01&limit=0", "limit"},
		{"&customer=c-01&cursor=!!", "cursor"},
	} {
		resp, body := d.request(t, "GET", "/v1/counts?scope=*&rule=any"+tt.query, "", nil)
		var e contract.ErrorResponse
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, tt.says) {
			t.Errorf("?rule=any%s: %d %s; want 400 naming %s", tt.query, resp.StatusCode, strings.TrimSpace(body), tt.says)
		}
	}
}
