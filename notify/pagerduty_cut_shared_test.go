package notify

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/bytedance/sonic"

	"github.com/hindsightdev/hindsight/contract"
)

// TestPagerDutyCutLeavesTheAlertAsItWas: an alert live cut already (context_cut
// lists a value it left out) and still over the Events API's 512 KB has its PagerDuty
// details cut further. The stage decodes alerts with sonic, whose slices have room to
// spare: the details' cut list, a shallow copy's, grew into the alert's own array and
// was sorted there, so the alert itself now names another value as cut — what every
// other destination, the undelivered record and the console then show — and two
// PagerDuty destinations of one alert write that array at once.
func TestPagerDutyCutLeavesTheAlertAsItWas(t *testing.T) {
	t.Parallel()
	target := Target{Name: "pd", Type: TypePagerDuty, URL: "https://events.pagerduty.com/v2/enqueue", Secret: []byte("R0UTINGKEY")}
	src := testAlert()
	// Cut by live already ($.z), and within --alert-max-bytes, but over 512 KB.
	src.Context = map[string]json.RawMessage{"$.a": json.RawMessage(`"` + strings.Repeat("a", 600_000) + `"`), "$.z": json.RawMessage("null")}
	src.ContextCut = []string{"$.z"}
	var a contract.Alert // as Stage.handle decodes the alerts record
	if err := sonic.Unmarshal(src.AppendJSON(nil), &a); err != nil {
		t.Fatal(err)
	}
	before := string(a.AppendJSON(nil))
	b, err := Body(target, &a)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > pagerDutyMaxEvent {
		t.Fatalf("event of %d bytes, over %d", len(b), pagerDutyMaxEvent)
	}
	if !slices.Equal(a.ContextCut, []string{"$.z"}) || string(a.AppendJSON(nil)) != before {
		t.Errorf("after the PagerDuty body was made, the alert's context_cut is %q; want it as it was, [\"$.z\"]", a.ContextCut)
	}
}
