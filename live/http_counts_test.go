package live_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// countingDaemon is a daemon with rule */any (every event with a type counts) and
// customers c-00 … c-24, customer i having i%3+1 events.
func countingDaemon(t *testing.T, mod func(*live.Config)) (*httpDaemon, map[string]int64) {
	t.Helper()
	d := startHTTPDaemon(t, 3, mod)
	r := livetest.ParseRule(t, `{"id":"any","scope":"*","when":{"path":"$.type"},"threshold":1000}`)
	d.b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d.Daemon, r.Key(), 1)
	want := map[string]int64{}
	var recs []*kgo.Record
	for i := range 25 {
		c := fmt.Sprintf("c-%02d", i)
		for range i%3 + 1 {
			recs = append(recs, ev(c, downloaded))
			want[c]++
		}
	}
	d.b.Produce(t, recs...)
	waitSeen(t, d.Daemon, int64(len(recs)))
	return d, want
}

func getPage(t *testing.T, d *httpDaemon, query string) (int, contract.CountsPage, string) {
	t.Helper()
	resp, body := d.request(t, "GET", "/v1/counts?scope=*&rule=any"+query, "", nil)
	var p contract.CountsPage
	if resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("page %s: %v", body, err)
		}
		if !strings.Contains(body, `"next_cursor":`) {
			t.Errorf("page %s has no next_cursor", body)
		}
	}
	return resp.StatusCode, p, body
}

// TestCountsPagination: /v1/counts?rule=ID lists a rule's counts page by page, in
// customer order, following next_cursor until it is empty; the default page is
// CountsPageSize, a larger limit than CountsMaxPageSize is refused, and so is a cursor
// the API did not give.
func TestCountsPagination(t *testing.T) {
	t.Parallel()
	d, want := countingDaemon(t, func(c *live.Config) { c.CountsPageSize, c.CountsMaxPageSize = 20, 100 })
	customers := make([]string, 0, len(want))
	for c := range want {
		customers = append(customers, c)
	}
	slices.Sort(customers)

	for _, limit := range []int{1, 7, 10, 25, 100} {
		var listed []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 30 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			q := fmt.Sprintf("&limit=%d", limit)
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			code, p, body := getPage(t, d, q)
			if code != 200 {
				t.Fatalf("limit %d: %d %s", limit, code, body)
			}
			if len(p.Counts) > limit || (p.NextCursor != "" && len(p.Counts) != limit) {
				t.Fatalf("limit %d: a page of %d, next %q", limit, len(p.Counts), p.NextCursor)
			}
			for _, c := range p.Counts {
				listed = append(listed, c.Customer)
				if c.Count != want[c.Customer] || c.RuleID != "any" || c.Scope != "*" || c.Version != 1 || c.Status != contract.RuleLive {
					t.Errorf("limit %d: row %+v, want count %d", limit, c, want[c.Customer])
				}
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		if !slices.Equal(listed, customers) {
			t.Errorf("limit %d: listed %v, want %v", limit, listed, customers)
		}
	}

	// Without a limit, a page is CountsPageSize (20) long.
	if code, p, _ := getPage(t, d, ""); code != 200 || len(p.Counts) != 20 || p.NextCursor == "" || p.Counts[19].Customer != "c-19" {
		t.Errorf("default page: %d, %d rows, next %q", code, len(p.Counts), p.NextCursor)
	}
	for _, tc := range []struct{ query, msg string }{
		{"&limit=101", "--counts-max-page-size"},
		{"&limit=0", "limit must be a number from 1 to 100"},
		{"&limit=x", "limit must be"},
		{"&cursor=!!", "cursor"},
	} {
		if code, _, body := getPage(t, d, tc.query); code != 400 || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d %s, want 400 saying %q", tc.query, code, body, tc.msg)
		}
	}
	if n := d.reached(t, "counts_max_page_size"); n != 1 {
		t.Errorf("counts_max_page_size reached %v times, want 1", n)
	}
	// One customer's count is still one answer.
	resp, body := d.request(t, "GET", "/v1/counts?scope=*&rule=any&customer=c-04", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"count":2`) {
		t.Errorf("one customer: %d %s", resp.StatusCode, body)
	}
}

// TestHeavyRequestsAreCapped: with the one heavy slot taken by a counts listing (held
// inside the counters, as a long walk would be), another listing, a console preview,
// the console's counts and the rules listing are answered 503 with Retry-After at once; the first listing
// completes once the counters are free, and the slot serves again.
func TestHeavyRequestsAreCapped(t *testing.T) {
	t.Parallel()
	d, want := countingDaemon(t, func(c *live.Config) { c.HTTPMaxHeavyRequests = 1 })
	release := live.HoldPartitions(d.Daemon)
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	type answer struct {
		code int
		page contract.CountsPage
	}
	first := make(chan answer, 1)
	go func() { // not d.request: only the test's goroutine may fail it
		resp, err := http.Get(d.base + "/v1/counts?scope=*&rule=any&limit=100")
		if err != nil {
			first <- answer{code: -1}
			return
		}
		defer resp.Body.Close()
		var p contract.CountsPage
		_ = json.NewDecoder(resp.Body).Decode(&p)
		first <- answer{resp.StatusCode, p}
	}()
	poll.Until(t, wait, "the first listing to take the heavy slot", func() bool {
		return d.metric(t, "hindsight_http_heavy_requests_running") == 1
	})
	preview := `{"rule":{"scope":"*","when":{"path":"$.type"},"threshold":1}}`
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/v1/counts?scope=*&rule=any", ""},
		{"POST", "/v1/console/preview", preview},
		{"GET", "/v1/console/counts?scope=*&id=any", ""},
		{"GET", "/v1/rules", ""},         // one answer of every rule, however many
		{"GET", "/v1/console/rules", ""}, // the same, with each rule's counts
	} {
		resp, body := d.request(t, rq.method, rq.path, rq.body, nil)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "--http-max-heavy-requests") {
			t.Errorf("%s %s while the slot is taken: %d (Retry-After %q) %s", rq.method, rq.path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	if n := d.reached(t, "http_max_heavy_requests"); n != 5 {
		t.Errorf("heavy cap reached %v times, want 5", n)
	}
	release()
	released = true
	select {
	case a := <-first:
		if a.code != 200 || len(a.page.Counts) != len(want) {
			t.Fatalf("the first listing: %d, %d rows", a.code, len(a.page.Counts))
		}
	case <-time.After(wait):
		t.Fatal("the first listing did not finish once the counters were free")
	}
	if code, p, body := getPage(t, d, ""); code != 200 || len(p.Counts) != len(want) {
		t.Errorf("after the slot is free: %d %s", code, body)
	}
}
