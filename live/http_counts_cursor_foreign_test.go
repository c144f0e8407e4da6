package live_test

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestCountsCursorOfAnotherListingIsRefused: a /v1/counts cursor was the last
// customer of its page and nothing else, so one from rule */any's listing, given to
// rule */other's or to scope c-07's, or a cursor of another listing (the console's
// windows), was taken as the customer to page after, and answered a page starting at
// a position of an unrelated listing. A cursor now names its listing, scope and rule:
// another's is refused with 400 naming cursor, and its own still pages on.
func TestCountsCursorOfAnotherListingIsRefused(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 3, nil)
	for _, doc := range []string{
		`{"id":"any","scope":"*","when":{"path":"$.type"},"threshold":1000}`,
		`{"id":"other","scope":"*","when":{"path":"$.type"},"threshold":1000}`,
		`{"id":"any","scope":"c-07","when":{"path":"$.type"},"threshold":1000}`,
	} {
		r := livetest.ParseRule(t, doc)
		d.b.Produce(t, livetest.Upsert(t, r))
		waitRule(t, d.Daemon, r.Key(), 1)
	}
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, ev(fmt.Sprintf("c-%02d", i), downloaded))
	}
	d.b.Produce(t, recs...)
	waitSeen(t, d.Daemon, int64(len(recs)))

	code, p, body := getPage(t, d, "&limit=3")
	if code != 200 || p.NextCursor == "" || len(p.Counts) != 3 {
		t.Fatalf("first page of */any: %d %s", code, body)
	}
	cursor := p.NextCursor
	windows := base64.RawURLEncoding.EncodeToString([]byte(`["windows","c-02"]`))
	for _, tc := range []struct{ name, query string }{
		{"another rule", "/v1/counts?scope=*&rule=other&limit=3&cursor=" + url.QueryEscape(cursor)},
		{"another scope", "/v1/counts?scope=c-07&rule=any&limit=3&cursor=" + url.QueryEscape(cursor)},
		{"another listing", "/v1/counts?scope=*&rule=any&limit=3&cursor=" + windows},
	} {
		resp, body := d.request(t, "GET", tc.query, "", nil)
		if resp.StatusCode != 400 || !strings.Contains(body, "cursor") {
			t.Errorf("%s: %d %s; want 400 naming cursor", tc.name, resp.StatusCode, body)
		}
	}
	// Its own listing takes it: the page after c-02.
	code, p, body = getPage(t, d, "&limit=3&cursor="+url.QueryEscape(cursor))
	if code != 200 || len(p.Counts) != 3 || p.Counts[0].Customer != "c-03" || p.Counts[0].Count != 1 {
		t.Errorf("second page of */any: %d %s; want c-03 … c-05", code, body)
	}
}
