package console_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// The rules of the open-windows tests, saved before their events arrive.
const (
	// Bytes downloaded per customer and user in 10-minute windows starting every 5
	// minutes, event time from $.ts; an hour of lateness keeps every window of the test
	// open.
	bytesRule = `{"id":"bytes-per-user","scope":"*","name":"Bytes per user","when":{"path":"$.type","op":"==","value":"download"},` +
		`"aggregate":{"fn":"sum","path":"$.bytes"},"group_by":["$.user"],"window":{"size":"10m","every":"5m"},` +
		`"time":"$.ts","lateness":"1h","threshold":10}`
	// The same downloads, a plain count: its rows carry no windows.
	downloadsRule = `{"id":"downloads","scope":"*","when":{"path":"$.type","op":"==","value":"download"},"threshold":100}`
)

// windowsBase is the start of the hour the open-windows events fall in: windows are
// aligned to the epoch, so theirs start at whole 5 minutes after it.
var windowsBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// produceWindowEvents saves bytesRule and downloadsRule, produces the events whose open
// windows TestWindowsListOpenWindowsPerCustomerAndGroup works out by hand, and waits
// until the daemon has counted them all and both rules are live.
func produceWindowEvents(t *testing.T, d *daemon, token string) {
	t.Helper()
	for _, js := range []string{bytesRule, downloadsRule} {
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), token, draft(js), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("saving %s: %d %+v", js, resp.StatusCode, s)
		}
	}
	ev := func(typ, user string, min int, bytes string) string {
		js := fmt.Sprintf(`{"type":%q,"user":%q,"ts":%q`, typ, user, windowsBase.Add(time.Duration(min)*time.Minute).Format(time.RFC3339))
		if bytes != "" {
			js += `,"bytes":` + bytes
		}
		return js + "}"
	}
	d.b.Produce(t, // each customer's in offset order
		livetest.Event("acme", ev("download", "a", 1, "4")),
		livetest.Event("acme", ev("download", "b", 2, "1")),
		livetest.Event("globex", ev("download", "a", 3, "20")),
		livetest.Event("acme", ev("download", "a", 6, "7")),
		livetest.Event("acme", ev("upload", "a", 8, "100")), // no match
		livetest.Event("initech", ev("download", "c", 8, "2")),
		livetest.Event("acme", ev("download", "a", 7, "")), // matches; no bytes: no sum, no window
	)
	// downloads counts 4 + 1 + 1 once the last event is in; both rules are live once
	// each partition has adopted them.
	poll.Until(t, 30*time.Second, "the events counted and the rules live", func() bool {
		var rules console.RulesResponse
		if resp := call(t, "GET", d.url("/v1/console/rules"), token, nil, &rules); resp.StatusCode != 200 {
			t.Fatalf("rules: %d", resp.StatusCode)
		}
		live := 0
		for _, r := range rules.Rules {
			if r.Status == contract.RuleLive && (r.ID != "downloads" || r.Counts.Total == 6) {
				live++
			}
		}
		return live == 2
	})
}

// windowLine is a CountView as the tests write it by hand: customer, count, status and
// windows_total, then each window's group, bounds relative to windowsBase, count, value
// and alerted.
func windowLine(v contract.CountView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s v%d %s count=%d %s windows=%d:", v.Scope, v.RuleID, v.Version, v.Customer, v.Count, v.Status, v.WindowsTotal)
	for _, w := range v.Windows {
		g, _ := json.Marshal(w.Group)
		bound := func(t *time.Time) string {
			if t == nil {
				return "-"
			}
			return t.Sub(windowsBase).String()
		}
		val := "null"
		if w.Value != nil {
			val = fmt.Sprint(*w.Value)
		}
		fmt.Fprintf(&b, " %s[%s,%s) n=%d v=%s alerted=%v;", g, bound(w.WindowStart), bound(w.WindowEnd), w.Count, val, w.Alerted)
	}
	return b.String()
}

// TestWindowsListOpenWindowsPerCustomerAndGroup: for a rule with group_by, hopping
// windows and a sum, /v1/console/counts counts each customer's largest open window,
// /v1/console/windows lists the open windows per customer and group as worked out by
// hand, page by page, and agrees with the daemon's /v1/counts; a plain count in the same
// daemon keeps its counts and has no windows.
func TestWindowsListOpenWindowsPerCustomerAndGroup(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	produceWindowEvents(t, d, "")

	// Every event time falls in two windows, [k·5m, k·5m+10m). acme's user a: 4 bytes at
	// 0:01 and 7 at 0:06 (0:07 has no bytes: it makes no window), so [0,10m) holds both:
	// 11 ≥ 10, alerted. globex's single 20 alerts both its windows.
	want := []string{
		`*/bytes-per-user v1 acme count=2 live windows=5:` +
			` {"$.user":"a"}[-5m0s,5m0s) n=1 v=4 alerted=false; {"$.user":"a"}[0s,10m0s) n=2 v=11 alerted=true; {"$.user":"a"}[5m0s,15m0s) n=1 v=7 alerted=false;` +
			` {"$.user":"b"}[-5m0s,5m0s) n=1 v=1 alerted=false; {"$.user":"b"}[0s,10m0s) n=1 v=1 alerted=false;`,
		`*/bytes-per-user v1 globex count=1 live windows=2:` +
			` {"$.user":"a"}[-5m0s,5m0s) n=1 v=20 alerted=true; {"$.user":"a"}[0s,10m0s) n=1 v=20 alerted=true;`,
		`*/bytes-per-user v1 initech count=1 live windows=2:` +
			` {"$.user":"c"}[0s,10m0s) n=1 v=2 alerted=false; {"$.user":"c"}[5m0s,15m0s) n=1 v=2 alerted=false;`,
	}

	// The summaries: a windowed rule counts each customer's largest window.
	for _, tc := range []struct {
		id  string
		sum contract.CountSummary
	}{
		{"bytes-per-user", contract.CountSummary{Customers: 3, Total: 2 + 1 + 1,
			Top: []contract.CustomerCount{{Customer: "acme", Count: 2, PartitionMax: 2}, {Customer: "globex", Count: 1, PartitionMax: 1}, {Customer: "initech", Count: 1, PartitionMax: 1}}}},
		{"downloads", contract.CountSummary{Customers: 3, Total: 4 + 1 + 1,
			Top: []contract.CustomerCount{{Customer: "acme", Count: 4, PartitionMax: 4}, {Customer: "globex", Count: 1, PartitionMax: 1}, {Customer: "initech", Count: 1, PartitionMax: 1}}}},
	} {
		var got console.CountsResponse
		if resp := call(t, "GET", d.url("/v1/console/counts?scope=*&id="+tc.id), "", nil, &got); resp.StatusCode != 200 ||
			fmt.Sprint(got.CountSummary) != fmt.Sprint(tc.sum) {
			t.Errorf("counts of %s: %d %+v, want %+v", tc.id, resp.StatusCode, got.CountSummary, tc.sum)
		}
	}
	var rules console.RulesResponse
	call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
	for _, r := range rules.Rules {
		if r.Plain != (r.ID == "downloads") || r.Counts.Customers != 3 {
			t.Errorf("rule row %s: plain %v, counts %+v", r.ID, r.Plain, r.Counts)
		}
	}

	// Pages of every size give the same rows, in customer order, and the cursors chain.
	windows := func(q string) (console.WindowsResponse, int) {
		t.Helper()
		var page console.WindowsResponse
		resp := call(t, "GET", d.url("/v1/console/windows?"+q), "", nil, &page)
		return page, resp.StatusCode
	}
	// The windows listing's cursor: base64url of ["windows", scope, id, last customer
	// listed].
	cursor := func(customer string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`["windows","*","bytes-per-user","` + customer + `"]`))
	}
	for _, tc := range []struct {
		limit   int
		cursors []string // next_cursor of each page, the last ""
	}{
		{1, []string{cursor("acme"), cursor("globex"), ""}},
		{2, []string{cursor("globex"), ""}},
		{3, []string{""}},
		{20, []string{""}},
	} {
		t.Run(fmt.Sprintf("limit %d", tc.limit), func(t *testing.T) {
			var got []string
			c := ""
			for i, next := range tc.cursors {
				page, code := windows(fmt.Sprintf("scope=*&id=bytes-per-user&limit=%d&cursor=%s", tc.limit, url.QueryEscape(c)))
				if code != 200 || page.Scope != "*" || page.ID != "bytes-per-user" || page.NextCursor != next {
					t.Fatalf("page %d: %d, %s/%s, next_cursor %q; want 200, */bytes-per-user, %q", i, code, page.Scope, page.ID, page.NextCursor, next)
				}
				if len(page.Counts) != min(tc.limit, len(want)-len(got)) {
					t.Errorf("page %d holds %d customers", i, len(page.Counts))
				}
				for _, v := range page.Counts {
					got = append(got, windowLine(v))
				}
				c = next
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("windows:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
			}
		})
	}

	// The daemon's own answer for one customer is the console's row.
	var acme contract.CountView
	if code := livetest.GetJSON(t, d.url("/v1/counts?scope=*&rule=bytes-per-user&customer=acme"), &acme); code != 200 || windowLine(acme) != want[0] {
		t.Errorf("/v1/counts for acme: %d %s\nwant %s", code, windowLine(acme), want[0])
	}

	// A plain count: the same pages, without windows.
	page, code := windows("id=downloads")
	var plain []string
	for _, v := range page.Counts {
		plain = append(plain, windowLine(v))
	}
	if wantPlain := "*/downloads v1 acme count=4 live windows=0: | */downloads v1 globex count=1 live windows=0: | */downloads v1 initech count=1 live windows=0:"; code != 200 ||
		strings.Join(plain, " | ") != wantPlain || page.NextCursor != "" {
		t.Errorf("plain count's page: %d %q, next %q\nwant %s", code, strings.Join(plain, " | "), page.NextCursor, wantPlain)
	}

	for _, tc := range []struct {
		query string
		code  int
		msg   string
	}{
		{"scope=*", 400, "id is required"},
		{"id=bytes-per-user&limit=0", 400, "limit must be a number from 1 to 1000"},
		{"id=bytes-per-user&limit=1001", 400, "limit 1001 is over the largest this listing gives, 1000 (--console-windows-max-page-size)"},
		{"id=bytes-per-user&limit=ten", 400, "limit must be a number"},
		{"id=bytes-per-user&cursor=not*base64", 400, "cursor is not one this API gave"},
		// A pair url.Values would drop (a restarted listing) and a semicolon (an id
		// "required") are refused as what they are; an all-digit limit past int's
		// range is over the cap.
		{"id=bytes-per-user&cursor=Yy0w%zz", 400, `the query parameter "cursor" is not valid percent-encoding`},
		{"id=bytes-per-user;limit=2", 400, "semicolon"},
		{"id=bytes-per-user&limit=99999999999999999999", 400, "limit 99999999999999999999 is over the largest this listing gives, 1000 (--console-windows-max-page-size)"},
		{"scope=acme&id=bytes-per-user", 404, "no active rule acme/bytes-per-user"},
		{"id=nope", 404, "no active rule */nope"},
	} {
		var e contract.ErrorResponse
		if resp := call(t, "GET", d.url("/v1/console/windows?"+tc.query), "", nil, &e); resp.StatusCode != tc.code || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("GET windows?%s: %d %q, want %d ~%q", tc.query, resp.StatusCode, e.Error, tc.code, tc.msg)
		}
	}
}

// TestWindowsIsAProtectedHeavyRead: the windows listing is a read like the others (with
// a token and no --public-read it needs the token), and a heavy one (it waits for
// Admit).
func TestWindowsIsAProtectedHeavyRead(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "s3cret")
	var e contract.ErrorResponse
	if resp := call(t, "GET", d.url("/v1/console/windows?id=x"), "", nil, &e); resp.StatusCode != 401 || !strings.Contains(e.Error, "API token for reads") {
		t.Errorf("windows without the token: %d %q", resp.StatusCode, e.Error)
	}
	if resp := call(t, "GET", d.url("/v1/console/windows?id=x"), "s3cret", nil, &e); resp.StatusCode != 404 {
		t.Errorf("windows with the token, of no rule: %d %q", resp.StatusCode, e.Error)
	}
	busy, _ := boundedConsole(t, d, console.Config{Admit: func() (func(), error) { return nil, errors.New("2 heavy requests are running") }})
	resp := call(t, "GET", busy+"/v1/console/windows?id=x", "", nil, &e)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(e.Error, "heavy requests") {
		t.Errorf("windows when Admit refuses: %d %q, Retry-After %q", resp.StatusCode, e.Error, resp.Header.Get("Retry-After"))
	}
}
