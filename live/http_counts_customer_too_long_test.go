package live

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestCountsRefusesACustomerLongerThanAKey: an event whose key is longer than
// --max-customer-bytes goes to the dead-letter topic (key_too_long), so /v1/counts
// refuses such a customer, 400 naming the flag, as it refuses one that is not UTF-8.
// The handler is called directly: the package's limit (TestMain) is 1 MiB, more than
// a request line may carry through the daemon's listener.
func TestCountsRefusesACustomerLongerThanAKey(t *testing.T) {
	t.Parallel()
	n := rule.CurrentMaxCustomerBytes() + 1
	rec := httptest.NewRecorder()
	(&Daemon{}).handleCounts(rec, httptest.NewRequest("GET", "/v1/counts?rule=any&customer="+strings.Repeat("c", n), nil))
	var e contract.ErrorResponse
	if rec.Code != http.StatusBadRequest || json.Unmarshal(rec.Body.Bytes(), &e) != nil || !strings.Contains(e.Error, "--max-customer-bytes") {
		t.Errorf("customer of %d bytes: %d %.200s; want 400 naming --max-customer-bytes", n, rec.Code, rec.Body.String())
	}
}
