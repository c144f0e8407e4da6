package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/twmb/franz-go/pkg/kgo"
)

// boundedConsole serves a console over d with cfg's bounds on a loopback test server,
// and records the limits it reports.
func boundedConsole(t *testing.T, d *daemon, cfg console.Config) (url string, reached func() []string) {
	t.Helper()
	var mu sync.Mutex
	var names []string
	if cfg.Backend == nil {
		cfg.Backend = d.ConsoleBackend()
	}
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
	t.Parallel()
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
	t.Parallel()
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

// TestListingBoundsAreFlags: a preview's sample, a counts listing and a windows page are
// bounded by the console's configuration, not by constants: a request within the bound
// is served, one past it is answered 400 naming the daemon's flag and reported as the
// limit reached; the default sample and windows page are the configured ones.
func TestListingBoundsAreFlags(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	evs := previewEvents()
	produce(t, d.b, evs)
	d.waitLake(t, int64(len(evs)))
	var s console.SaveResponse
	if call(t, "POST", d.url("/v1/console/rules"), "", draft(loginRule), &s); s.Status != "ok" {
		t.Fatalf("save: %+v", s)
	}
	url, reached := boundedConsole(t, d, console.Config{PreviewSample: 4, PreviewMaxSample: 6, CountsMaxTop: 2, TopCustomers: 1,
		WindowsPageSize: 1, WindowsMaxPageSize: 3, MutesPageSize: 2, MutesMaxPageSize: 5})

	var p console.PreviewResult
	if resp := call(t, "POST", url+"/v1/console/preview", "", draft(loginRule), &p); resp.StatusCode != 200 || p.Sample.Events != 4 {
		t.Errorf("preview without a sample: %d, sampled %d events, want the configured 4", resp.StatusCode, p.Sample.Events)
	}
	atMax := map[string]any{"rule": json.RawMessage(loginRule), "sample": 6}
	if resp := call(t, "POST", url+"/v1/console/preview", "", atMax, &p); resp.StatusCode != 200 || p.Sample.Events != 6 {
		t.Errorf("preview of the largest sample: %d, sampled %d events", resp.StatusCode, p.Sample.Events)
	}
	var info console.Info
	if call(t, "GET", url+"/v1/console/info", "", nil, &info); info.PreviewSample != 4 {
		t.Errorf("info's preview sample %d, want 4", info.PreviewSample)
	}
	if got := reached(); len(got) != 0 {
		t.Errorf("limits reported within the bounds: %v", got)
	}

	// Its history is counted on both partitions: c-1, c-2 and c-3 have counts.
	var w console.WindowsResponse
	poll.Until(t, 20*time.Second, "the rule's counts of three customers", func() bool {
		call(t, "GET", url+"/v1/console/windows?id=login-failures&limit=3", "", nil, &w)
		return len(w.Counts) == 3
	})
	if resp := call(t, "GET", url+"/v1/console/windows?id=login-failures", "", nil, &w); resp.StatusCode != 200 || len(w.Counts) != 1 || w.NextCursor == "" {
		t.Errorf("windows page without a limit: %d, %d customers, next %q; want the configured 1 and more to follow", resp.StatusCode, len(w.Counts), w.NextCursor)
	}
	var c console.CountsResponse
	if resp := call(t, "GET", url+"/v1/console/counts?id=login-failures&limit=2", "", nil, &c); resp.StatusCode != 200 || len(c.Top) != 2 {
		t.Errorf("counts at the largest limit: %d, %d customers", resp.StatusCode, len(c.Top))
	}
	// Without a limit, the default (100) is held to the bound: three customers have
	// counts, two are listed (pageLimit's min had no test: the mutation hunt).
	if resp := call(t, "GET", url+"/v1/console/counts?id=login-failures", "", nil, &c); resp.StatusCode != 200 || len(c.Top) != 2 {
		t.Errorf("counts without a limit under --counts-max-page-size 2: %d, %d customers; want 2", resp.StatusCode, len(c.Top))
	}

	for _, tc := range []struct {
		method, path string
		body         any
		msg, limit   string
	}{
		{"POST", "/v1/console/preview", map[string]any{"rule": json.RawMessage(loginRule), "sample": 7},
			"sample 7 is over the largest a preview may ask for, 6 (--preview-max-sample)", console.LimitPreviewSample},
		{"GET", "/v1/console/counts?id=login-failures&limit=3", nil,
			"limit 3 is over the largest this listing gives, 2 (--counts-max-page-size)", console.LimitCountsMaxTop},
		{"GET", "/v1/console/windows?id=login-failures&limit=4", nil,
			"limit 4 is over the largest this listing gives, 3 (--console-windows-max-page-size)", console.LimitWindowsMaxPage},
		{"GET", "/v1/console/mutes?limit=6", nil,
			"limit 6 is over the largest page, 5 (--console-mutes-max-page-size): read the mutes page by page with cursor", console.LimitMutesMaxPage},
	} {
		before := len(reached())
		var e contract.ErrorResponse
		if resp := call(t, tc.method, url+tc.path, "", tc.body, &e); resp.StatusCode != 400 || e.Error != tc.msg {
			t.Errorf("%s %s: %d %q, want 400 %q", tc.method, tc.path, resp.StatusCode, e.Error, tc.msg)
		}
		if got := reached()[before:]; !slices.Equal(got, []string{tc.limit}) {
			t.Errorf("%s %s reported %v, want %s", tc.method, tc.path, got, tc.limit)
		}
	}
}

// TestRecentAlertsBound: the console keeps RecentAlerts alerts, the newest, and
// reports each one dropped for a newer.
func TestRecentAlertsBound(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	url, reached := boundedConsole(t, d, console.Config{RecentAlerts: 2})
	alert := func(i int) *kgo.Record {
		a := contract.Alert{AlertID: fmt.Sprintf("a-%d", i), RuleID: "r", Scope: "*", Version: 1, Customer: "c-9", Count: 1, Threshold: rule.AtLeast(1), EventTime: time.Now().UTC(), Source: "live"}
		v, _ := json.Marshal(a)
		return &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: v}
	}
	var got console.AlertsResponse
	newest := func(id string) {
		poll.Until(t, 20*time.Second, "alert "+id, func() bool {
			call(t, "GET", url+"/v1/console/alerts", "", nil, &got)
			return len(got.Alerts) > 0 && got.Alerts[0].AlertID == id
		})
	}
	// The first alert shows once the feed follows the topic; the next five are then
	// each read as they come, not read back.
	d.b.Produce(t, alert(0))
	newest("a-0")
	d.b.Produce(t, alert(1), alert(2), alert(3), alert(4), alert(5))
	newest("a-5")
	if ids := alertIDs(got.Alerts); ids != "a-5 a-4" {
		t.Errorf("recent alerts %s, want the newest 2", ids)
	}
	dropped := 0
	for _, name := range reached() {
		if name == console.LimitRecentAlerts {
			dropped++
		}
	}
	if dropped != 4 {
		t.Errorf("%d drops reported (%v), want 4 of the 6 alerts", dropped, reached())
	}
}

// countingBackend counts the walks of every counter (Counts) its console asks for.
type countingBackend struct {
	console.Backend
	walks atomic.Int64
}

func (b *countingBackend) Counts(top int) map[rule.Key]contract.CountSummary {
	b.walks.Add(1)
	return b.Backend.Counts(top)
}

// TestRulesListingSharesItsCounts: GET /v1/console/rules is a light read outside the
// heavy requests' gate, so however many ask, the rules list walks every counter at most
// once per half refresh interval (it walked once per request); the rules themselves
// are fresh: a rule saved since the last walk is listed at once.
func TestRulesListingSharesItsCounts(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	b := &countingBackend{Backend: d.ConsoleBackend()}
	url, _ := boundedConsole(t, d, console.Config{Backend: b, RefreshInterval: time.Hour})
	var rs console.RulesResponse
	for range 20 {
		if resp := call(t, "GET", url+"/v1/console/rules", "", nil, &rs); resp.StatusCode != 200 {
			t.Fatalf("rules: %d", resp.StatusCode)
		}
	}
	if n := b.walks.Load(); n != 1 {
		t.Errorf("20 rules listings walked the counters %d times, want once", n)
	}
	var s console.SaveResponse
	if call(t, "POST", d.url("/v1/console/rules"), "", draft(loginRule), &s); s.Status != "ok" {
		t.Fatalf("save: %+v", s)
	}
	call(t, "GET", url+"/v1/console/rules", "", nil, &rs)
	if len(rs.Rules) != 1 || rs.Rules[0].ID != "login-failures" {
		t.Errorf("rules listed after a save: %+v, want login-failures", rs.Rules)
	}
}
