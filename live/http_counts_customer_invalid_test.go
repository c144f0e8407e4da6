package live_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestCountsRefusesACustomerNoEventCanHave: an event whose key is not UTF-8 goes to the
// dead-letter topic (docs/architecture.md, "Dead-letter record"): no such customer is
// ever counted. /v1/counts?customer= takes one anyway and answers 200, count 0, status
// live, and the answer's customer is JSON-encoded with U+FFFD in place of the bytes,
// so ?customer=a%FF answers {"customer":"a\ufffd","count":0} while the real customer
// "a\ufffd" (a valid key) has a count of 1: two answers naming the same customer with
// different counts. A customer id that cannot be one should be 400
// saying why.
func TestCountsRefusesACustomerNoEventCanHave(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	r := livetest.ParseRule(t, `{"id":"any","scope":"*","when":{"path":"$.type"},"threshold":1000}`)
	d.b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d.Daemon, r.Key(), 1)
	d.b.Produce(t, ev("a\uFFFD", downloaded))
	waitSeen(t, d.Daemon, 1)

	var real contract.CountView
	if code := livetest.GetJSON(t, d.base+"/v1/counts?rule=any&customer="+url.QueryEscape("a\uFFFD"), &real); code != 200 || real.Count != 1 {
		t.Fatalf("customer a\\ufffd: %d %+v, want its count 1", code, real)
	}
	for _, tt := range []struct{ name, customer, says string }{
		{"not UTF-8", "a\xff", "UTF-8"},
		{"not UTF-8, alone", "\xfe", "UTF-8"},
	} {
		resp, body := d.request(t, "GET", "/v1/counts?rule=any&customer="+url.QueryEscape(tt.customer), "", nil)
		var e contract.ErrorResponse
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, tt.says) {
			if len(body) > 200 {
				body = body[:200] + "…"
			}
			t.Errorf("%s: %d %s; want 400 saying %q", tt.name, resp.StatusCode, body, tt.says)
		}
	}
}
