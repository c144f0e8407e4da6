package live_test

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live"
)

// TestCountsRefusesMalformedQuery: url.Values parsing drops a pair whose
// percent-encoding is malformed, and /v1/counts then answered as if it had not been
// given (the first page for a cursor, every customer for one customer, the default page
// size for a limit): a wrong answer, given as a right one. Each is a 400 naming the
// parameter; a semicolon, which Go no longer takes for a separator, is a 400 saying so,
// not "rule is required".
func TestCountsRefusesMalformedQuery(t *testing.T) {
	t.Parallel()
	d, _ := countingDaemon(t, func(c *live.Config) { c.CountsPageSize, c.CountsMaxPageSize = 20, 100 })
	for _, tt := range []struct{ q, names string }{
		{"&limit=5&cursor=Yy0w%zz", `\"cursor\"`}, // a cursor, mangled in transit
		{"&customer=c-0%zz1", `\"customer\"`},     // one customer
		{"&limit=%zz", `\"limit\"`},               // a page size
		{";limit=2", "semicolon"},
	} {
		resp, body := d.request(t, "GET", "/v1/counts?scope=*&rule=any"+tt.q, "", nil)
		if resp.StatusCode != 400 || !strings.Contains(body, `"error"`) || !strings.Contains(body, tt.names) {
			t.Errorf("GET /v1/counts?scope=*&rule=any%s: %d %.200s; want 400 naming %s", tt.q, resp.StatusCode, body, tt.names)
		}
	}
}

// TestCountsHugeLimitNamesTheCap: API.md: "Over a cap the answer says which flag sets
// it: … 400 (page size)", and each time a request reaches a limit
// hindsight_limit_reached_total{name} grows. A limit past int's range (a script's "all
// of them") is as far over the cap as one can ask: strconv.Atoi's range error had it
// answered as malformed, naming no flag, and not counted.
func TestCountsHugeLimitNamesTheCap(t *testing.T) {
	t.Parallel()
	d, _ := countingDaemon(t, func(c *live.Config) { c.CountsPageSize, c.CountsMaxPageSize = 20, 100 })
	resp, body := d.request(t, "GET", "/v1/counts?scope=*&rule=any&limit=99999999999999999999", "", nil)
	if resp.StatusCode != 400 || !strings.Contains(body, "--counts-max-page-size") {
		t.Errorf("limit=99999999999999999999: %d %s; want 400 naming --counts-max-page-size", resp.StatusCode, body)
	}
	if n := d.reached(t, "counts_max_page_size"); n != 1 {
		t.Errorf("counts_max_page_size reached %v times, want 1", n)
	}
}
