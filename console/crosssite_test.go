package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestCrossSitePageCannotRunHeavyPosts: without a token on a loopback listener,
// writes refuse a request whose Origin is another site (WritePolicy: "other pages open
// in the user's browser could otherwise post to 127.0.0.1"). A backtest or preview is
// a POST too, and the heaviest request the console runs (a heavy-request slot, up to
// --preview-timeout of lake and Kafka reading). The console takes its body whatever
// the Content-Type, so any web page the user visits can send it as a "simple" request
// (text/plain, no CORS preflight): a page looping such posts holds every heavy slot of
// the user's daemon, and previews, counts and rules listings get 503. Such a request,
// from another site's page, should be refused as writes are.
func TestCrossSitePageCannotRunHeavyPosts(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, path := range []string{"/v1/console/backtest", "/v1/console/preview"} {
		resp, data := livetest.Request(t, "POST", d.url(path), strings.NewReader(`{"rule":`+loginRule+`}`), func(r *http.Request) {
			// What a form or fetch(…, {mode: "no-cors"}) on https://evil.example sends.
			r.Header.Set("Content-Type", "text/plain;charset=UTF-8")
			r.Header.Set("Origin", "https://evil.example")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		})
		if resp.StatusCode/100 == 2 {
			t.Errorf("POST %s from a page of https://evil.example (text/plain, no preflight) ran: %d %.100s; want 403 as writes answer",
				path, resp.StatusCode, strings.TrimSpace(string(data)))
		}
	}
}

// TestCrossSitePreviewRefusedWithPublicReads: with a token and --public-read, reads
// need no token, so a page of another site could post previews and backtests (JSON
// now, past a preflight the daemon does not answer, but a browser is not the only
// judge of what it sends): the Origin check holds whatever the token. The console's own
// page (Origin its own host) and a script (no Origin) still run them.
func TestCrossSitePreviewRefusedWithPublicReads(t *testing.T) {
	t.Parallel()
	d := startDaemonWith(t, "s3cret", func(c *live.Config) { c.PublicRead = true })
	for _, path := range []string{"/v1/console/backtest", "/v1/console/preview"} {
		var e struct{ Error string }
		resp := callWith(t, "POST", d.url(path), "", draft(loginRule), &e, func(r *http.Request) {
			r.Header.Set("Origin", "https://evil.example")
		})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(e.Error, "evil.example") {
			t.Errorf("POST %s, Origin https://evil.example, public reads: %d %q; want 403 naming the origin", path, resp.StatusCode, e.Error)
		}
	}
	for name, mod := range map[string]func(*http.Request){
		"the console's own page": func(r *http.Request) { r.Header.Set("Origin", "http://"+r.Host) },
		"a script":               nil,
	} {
		if resp := callWith(t, "POST", d.url("/v1/console/preview"), "", draft(loginRule), nil, mod); resp.StatusCode != http.StatusOK {
			t.Errorf("a preview from %s: %d, want 200", name, resp.StatusCode)
		}
	}
}

// TestPostBodiesMustBeJSON: every POST of the console API takes a JSON body, and says
// so (415) for another Content-Type or none: a text/plain, form or multipart POST is
// what another site's page can send without a CORS preflight. Nothing is published.
func TestPostBodiesMustBeJSON(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	mute := `{"id":"deploy","scope":"c-042","rule":"*","for":"2h","reason":"r","by":"ana"}`
	bodies := map[string]string{
		"/v1/console/validate": `{"rule":` + loginRule + `}`,
		"/v1/console/preview":  `{"rule":` + loginRule + `}`,
		"/v1/console/backtest": `{"rule":` + loginRule + `}`,
		"/v1/console/rules":    `{"rule":` + loginRule + `}`,
		"/v1/console/mutes":    mute,
	}
	for path, body := range bodies {
		for _, ct := range []string{"", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp"} {
			resp, data := livetest.Request(t, "POST", d.url(path), strings.NewReader(body), func(r *http.Request) {
				if ct != "" {
					r.Header.Set("Content-Type", ct)
				}
			})
			if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(data), "Content-Type: application/json") {
				t.Errorf("POST %s as %q: %d %s; want 415 saying to send application/json", path, ct, resp.StatusCode, strings.TrimSpace(string(data)))
			}
		}
	}
	if n := d.b.TopicRecords(t, "controls"); n != 0 {
		t.Errorf("%d controls published by bodies that were not JSON, want 0", n)
	}
	// A charset parameter, and the type's case, are JSON still (RFC 9110 media types).
	resp, data := livetest.Request(t, "POST", d.url("/v1/console/validate"), strings.NewReader(bodies["/v1/console/validate"]), func(r *http.Request) {
		r.Header.Set("Content-Type", "Application/JSON; charset=utf-8")
	})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("validate as Application/JSON; charset=utf-8: %d %s, want 200", resp.StatusCode, data)
	}
}
