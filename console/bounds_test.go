package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
)

// boundedConsole serves a console over d with cfg's bounds on a loopback test server,
// and records the limits it reports.
func boundedConsole(t *testing.T, d *daemon, cfg console.Config) (url string, reached func() []string) {
	t.Helper()
	var mu sync.Mutex
	var names []string
	cfg.Backend = d.ConsoleBackend()
	cfg.LimitReached = func(name string) {
		mu.Lock()
		names = append(names, name)
		mu.Unlock()
	}
	c, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(func() {
		srv.Close()
		c.Close()
	})
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(names)
	}
}

// TestPreviewStopsAtItsBounds: a preview reads at most PreviewMaxScan archived events,
// for at most PreviewTimeout, and returns at most PreviewMaxBytes of examples; when it
// stops at a bound it still answers, says truncated with the reason, and reports the
// limit. Unbounded, the same preview sees everything.
func TestPreviewStopsAtItsBounds(t *testing.T) {
	d := startDaemon(t, "")
	evs := previewEvents()
	produce(t, d.b, evs)
	d.waitLake(t, int64(len(evs)))
	preview := func(url string) console.PreviewResult {
		t.Helper()
		var p console.PreviewResult
		if resp := call(t, "POST", url+"/v1/console/preview", "", draft(loginRule), &p); resp.StatusCode != 200 {
			t.Fatalf("preview: %d %+v", resp.StatusCode, p)
		}
		return p
	}

	full := preview(d.url(""))
	if full.Truncated || full.TruncatedReason != "" || full.Sample.Scanned != int64(len(evs)) || full.Matches != 7 || len(full.Examples) != 7 {
		t.Fatalf("unbounded preview: truncated %v %q, scanned %d, %d matches, %d examples", full.Truncated, full.TruncatedReason,
			full.Sample.Scanned, full.Matches, len(full.Examples))
	}

	t.Run("events scanned", func(t *testing.T) {
		url, reached := boundedConsole(t, d, console.Config{PreviewMaxScan: len(evs) - 1})
		p := preview(url)
		if !p.Truncated || !strings.Contains(p.TruncatedReason, "--preview-max-scan") || p.Sample.Scanned >= int64(len(evs)) ||
			!strings.Contains(p.Note, "partial") {
			t.Errorf("truncated %v %q, scanned %d of %d, note %q", p.Truncated, p.TruncatedReason, p.Sample.Scanned, len(evs), p.Note)
		}
		if got := reached(); !slices.Equal(got, []string{console.LimitPreviewScan}) {
			t.Errorf("limits reported %v", got)
		}
	})
	t.Run("bytes returned", func(t *testing.T) {
		first := len(full.Examples[0].Payload)
		url, reached := boundedConsole(t, d, console.Config{PreviewMaxBytes: first + 1})
		p := preview(url)
		if !p.Truncated || !strings.Contains(p.TruncatedReason, "--preview-max-bytes") || len(p.Examples) != 1 ||
			p.Examples[0] != full.Examples[0] || p.Matches != full.Matches || p.Sample.Events != full.Sample.Events {
			t.Errorf("truncated %v %q, %d examples, %d matches of %d events", p.Truncated, p.TruncatedReason, len(p.Examples), p.Matches, p.Sample.Events)
		}
		if got := reached(); !slices.Equal(got, []string{console.LimitPreviewBytes}) {
			t.Errorf("limits reported %v", got)
		}
	})
	t.Run("time", func(t *testing.T) {
		url, reached := boundedConsole(t, d, console.Config{PreviewTimeout: time.Nanosecond})
		p := preview(url)
		if !p.Truncated || !strings.Contains(p.TruncatedReason, "--preview-timeout") || p.Sample.Scanned != 0 || p.Matches != 0 {
			t.Errorf("truncated %v %q, scanned %d, %d matches", p.Truncated, p.TruncatedReason, p.Sample.Scanned, p.Matches)
		}
		if got := reached(); !slices.Equal(got, []string{console.LimitPreviewTimeout}) {
			t.Errorf("limits reported %v", got)
		}
	})
}

// TestAdmitGatesHeavyRequests: with Admit refusing, a preview and a counts listing are
// answered 503 with Retry-After and Admit's message, after the draft was read; with
// Admit letting them run, each gives its slot back.
func TestAdmitGatesHeavyRequests(t *testing.T) {
	d := startDaemon(t, "")
	var mu sync.Mutex
	open, refuse := 0, true
	url, _ := boundedConsole(t, d, console.Config{Admit: func() (func(), error) {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			return nil, fmt.Errorf("busy: try again")
		}
		open++
		return func() {
			mu.Lock()
			open--
			mu.Unlock()
		}, nil
	}})
	for _, rq := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/console/preview", draft(loginRule)},
		{"GET", "/v1/console/counts?id=login-failures", nil},
	} {
		var e contract.ErrorResponse
		resp := call(t, rq.method, url+rq.path, "", rq.body, &e)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || e.Error != "busy: try again" {
			t.Errorf("%s %s refused: %d %q %q", rq.method, rq.path, resp.StatusCode, resp.Header.Get("Retry-After"), e.Error)
		}
	}
	// An invalid draft is answered without a slot: only work that runs takes one.
	var v console.ValidateResponse
	if resp := call(t, "POST", url+"/v1/console/preview", "", draft(`{"id":"x","scope":"*","when":{"path":"$["},"threshold":1}`), &v); resp.StatusCode != 422 {
		t.Errorf("invalid draft while busy: %d", resp.StatusCode)
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	if resp := call(t, "POST", url+"/v1/console/preview", "", draft(loginRule), nil); resp.StatusCode != 200 {
		t.Errorf("admitted preview: %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if open != 0 {
		t.Errorf("%d slots not given back", open)
	}
}
