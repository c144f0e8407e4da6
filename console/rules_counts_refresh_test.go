package console_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestRulesListingCountsFollowNewEvents: the rules listing shares one walk of the
// counters per half refresh interval, and walks again after it: events counted since
// show in the listing's counts, not the first walk's figures for as long as the
// console runs.
func TestRulesListingCountsFollowNewEvents(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	url, _ := boundedConsole(t, d, console.Config{RefreshInterval: 10 * time.Millisecond})
	var s console.SaveResponse
	if call(t, "POST", d.url("/v1/console/rules"), "", draft(loginRule), &s); s.Status != "ok" {
		t.Fatalf("save: %+v", s)
	}
	var rs console.RulesResponse
	if resp := call(t, "GET", url+"/v1/console/rules", "", nil, &rs); resp.StatusCode != 200 || len(rs.Rules) != 1 || rs.Rules[0].Counts.Total != 0 {
		t.Fatalf("rules before any event: %d %+v, want login-failures counting 0", resp.StatusCode, rs.Rules)
	}
	at := time.Now().Truncate(time.Second)
	produce(t, d.b, []event{
		{customer: "c-1", typ: "login.failed", at: at},
		{customer: "c-1", typ: "login.failed", at: at.Add(time.Second)},
	})
	poll.Until(t, 30*time.Second, "the rules listing to count c-1's 2 failed logins", func() bool {
		call(t, "GET", url+"/v1/console/rules", "", nil, &rs)
		return len(rs.Rules) == 1 && rs.Rules[0].Counts.Total == 2 && len(rs.Rules[0].Counts.Top) == 1 &&
			rs.Rules[0].Counts.Top[0].Customer == "c-1" && rs.Rules[0].Counts.Top[0].Count == 2
	})
}
