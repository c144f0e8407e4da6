package live_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestWindowGroupsLimitReachedIsCounted: a windowed rule's groups past --max-groups are
// not kept, and each event that needed one is counted in
// hindsight_window_limit_drops_total{limit="max_groups"}, by rule: the limit reached
// is visible, not only in the rule's status.
func TestWindowGroupsLimitReachedIsCounted(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) { c.WindowLimits.MaxGroups = 2 })
	const js = `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"1h"},"time":"$.ts","threshold":100}`
	r := livetest.ParseRule(t, js)
	d.b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d.Daemon, []string{js})
	// a and b take the two groups; c, d and c again find none.
	d.b.Produce(t, loginFailed("a", 1), loginFailed("b", 2), loginFailed("c", 3), loginFailed("d", 4), loginFailed("c", 5), loginFailed("a", 6))
	waitSeen(t, d.Daemon, 6)
	if got := d.metric(t, "hindsight_window_limit_drops_total", "rule", r.Key().String(), "limit", "max_groups"); got != 3 {
		t.Errorf("hindsight_window_limit_drops_total{limit=max_groups} = %v after 3 events found no group under --max-groups 2, want 3", got)
	}
	if v := ruleView(t, d.Daemon, r.Key()); v.Status != contract.RuleDegraded {
		t.Errorf("rule status %s after groups were dropped at --max-groups, want degraded", v.Status)
	}
}
