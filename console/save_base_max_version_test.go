package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestSaveBaseAtTheLargestVersionIsAConflict: base.version may be the largest version a
// rule carries (2^53); an edit begun from it, when no such version is active, is a 409
// conflict naming what is active, not a 400 calling the version out of range, and
// nothing is published.
func TestSaveBaseAtTheLargestVersionIsAConflict(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	base := fmt.Sprintf(`{"key":"*/login-failures","version":%d}`, int64(rule.MaxSafeInteger))
	code, data := postJSON(t, d, "/v1/console/rules", `{"rule":`+loginRule+`,"base":`+base+`}`)
	if code != http.StatusConflict || !strings.Contains(data, `"status":"`+contract.SaveConflict+`"`) {
		t.Errorf("save with base %s and no such rule active: %d %s; want 409 %s", base, code, data, contract.SaveConflict)
	}
	if n := d.b.TopicRecords(t, "controls"); n != 0 {
		t.Errorf("%d controls published by a save that conflicts, want 0", n)
	}
}
