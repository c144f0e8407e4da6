package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

const loginRule = `{"id":"login-failures","scope":"*","name":"Login failures","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":3}`

func TestAuthWithToken(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "s3cret")
	controls := func() int64 { return d.b.TopicRecords(t, "controls") }

	var e contract.ErrorResponse
	resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(loginRule), &e)
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(e.Error, "Bearer") {
		t.Errorf("no token: %d %q, WWW-Authenticate %q", resp.StatusCode, e.Error, resp.Header.Get("WWW-Authenticate"))
	}
	resp = call(t, "POST", d.url("/v1/console/rules"), "s3cre", draft(loginRule), &e)
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("wrong token: %d %q, WWW-Authenticate %q", resp.StatusCode, e.Error, resp.Header.Get("WWW-Authenticate"))
	}
	resp = call(t, "DELETE", d.url("/v1/console/rules?scope=*&id=login-failures"), "", nil, &e)
	if resp.StatusCode != 401 {
		t.Errorf("delete without token: %d %q", resp.StatusCode, e.Error)
	}
	if n := controls(); n != 0 {
		t.Fatalf("refused writes published %d controls", n)
	}

	// Reads need the token too (the daemon has no --public-read); info, which tells the
	// page so, does not.
	var rules console.RulesResponse
	if resp := call(t, "GET", d.url("/v1/console/rules"), "", nil, &e); resp.StatusCode != 401 || !strings.Contains(e.Error, "API token for reads") {
		t.Errorf("GET rules without token: %d %q", resp.StatusCode, e.Error)
	}
	if resp := call(t, "GET", d.url("/v1/console/rules"), "s3cret", nil, &rules); resp.StatusCode != 200 || len(rules.Rules) != 0 {
		t.Errorf("GET rules with the token: %d %+v", resp.StatusCode, rules)
	}
	var v console.ValidateResponse
	if resp := call(t, "POST", d.url("/v1/console/validate"), "", draft(loginRule), &e); resp.StatusCode != 401 {
		t.Errorf("validate without token: %d %q", resp.StatusCode, e.Error)
	}
	if resp := call(t, "POST", d.url("/v1/console/validate"), "s3cret", draft(loginRule), &v); resp.StatusCode != 200 || !v.Valid {
		t.Errorf("validate with the token: %d %+v", resp.StatusCode, v)
	}
	var info console.Info
	call(t, "GET", d.url("/v1/console/info"), "", nil, &info)
	if !info.TokenRequired || !info.WritesAllowed || !info.ReadTokenRequired || info.ListenAddr != d.HTTPAddr() {
		t.Errorf("info = %+v", info)
	}

	var s console.SaveResponse
	resp = call(t, "POST", d.url("/v1/console/rules"), "s3cret", draft(loginRule), &s)
	if resp.StatusCode != 200 || s.Status != "ok" || s.Version != 1 || s.Key != "*/login-failures" || s.Offset != 0 {
		t.Fatalf("right token: %d %+v", resp.StatusCode, s)
	}
	if r, ok := d.Registry().Get(rule.Key{Scope: "*", ID: "login-failures"}); !ok || r.Threshold.Count() != 3 {
		t.Fatalf("saved rule not active: %v %+v", ok, r)
	}
	resp = call(t, "DELETE", d.url("/v1/console/rules?scope=*&id=login-failures"), "s3cret", nil, &s)
	if resp.StatusCode != 200 || s.Status != "ok" || s.Op != "delete" || s.Offset != 1 {
		t.Fatalf("delete with the right token: %d %+v", resp.StatusCode, s)
	}
}

func TestAuthWithoutToken(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	var e contract.ErrorResponse
	var s console.SaveResponse

	// A page of another site, and a request to a name that rebinds to loopback.
	resp := callWith(t, "POST", d.url("/v1/console/rules"), "", draft(loginRule), &e, func(r *http.Request) {
		r.Header.Set("Origin", "http://evil.example")
	})
	if resp.StatusCode != 403 || !strings.Contains(e.Error, "origin") {
		t.Errorf("cross-site write: %d %q", resp.StatusCode, e.Error)
	}
	resp = callWith(t, "POST", d.url("/v1/console/rules"), "", draft(loginRule), &e, func(r *http.Request) { r.Host = "evil.example:8080" })
	if resp.StatusCode != 403 || !strings.Contains(e.Error, "loopback host") {
		t.Errorf("rebound host write: %d %q", resp.StatusCode, e.Error)
	}
	if n := d.b.TopicRecords(t, "controls"); n != 0 {
		t.Fatalf("refused writes published %d controls", n)
	}

	// Loopback listener, same-origin page: allowed without a token.
	resp = callWith(t, "POST", d.url("/v1/console/rules"), "", draft(loginRule), &s, func(r *http.Request) {
		r.Header.Set("Origin", "http://"+d.HTTPAddr())
	})
	if resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("loopback write without token: %d %+v", resp.StatusCode, s)
	}

	// The same daemon behind a listener that is not loopback: writes are refused until
	// a token is set. The console is served here by a loopback test server; only the
	// listener address it is told differs.
	for _, tc := range []struct {
		token, send string
		status      int
		msg         string
	}{
		{"", "", 403, "--api-token or HINDSIGHT_API_TOKEN"},
		{"", "anything", 403, "not a loopback address"},
		{"t0ken", "", 401, "Bearer"},
		{"t0ken", "wrong", 401, "wrong"},
		{"t0ken", "t0ken", 200, ""},
	} {
		t.Run(fmt.Sprintf("listener 0.0.0.0, token %q, sent %q", tc.token, tc.send), func(t *testing.T) {
			c, err := console.New(console.Config{Backend: listenOn{d.ConsoleBackend(), "0.0.0.0:8080"}, APIToken: tc.token})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(c)
			defer srv.Close()
			defer c.Close()
			before := d.b.TopicRecords(t, "controls")
			body := draft(fmt.Sprintf(`{"id":"remote-%d","scope":"c-1","when":{"path":"$.type"},"threshold":1}`, tc.status))
			var got map[string]any
			resp := call(t, "POST", srv.URL+"/v1/console/rules", tc.send, body, &got)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %v, want %d", resp.StatusCode, got, tc.status)
			}
			published := d.b.TopicRecords(t, "controls") - before
			if tc.status != 200 {
				if msg, _ := got["error"].(string); !strings.Contains(msg, tc.msg) {
					t.Errorf("message %q does not say %q", msg, tc.msg)
				}
				if published != 0 {
					t.Errorf("a refused write published %d controls", published)
				}
			} else if got["status"] != "ok" || published != 1 {
				t.Errorf("allowed write: %v, %d controls published", got, published)
			}
			var info console.Info
			if resp := call(t, "GET", srv.URL+"/v1/console/info", "", nil, &info); resp.StatusCode != 200 || info.WritesAllowed != (tc.token != "") {
				t.Errorf("info: %d %+v", resp.StatusCode, info)
			}
			var rules console.RulesResponse
			if resp := call(t, "GET", srv.URL+"/v1/console/rules", "", nil, &rules); resp.StatusCode != 200 || len(rules.Rules) == 0 {
				t.Errorf("reads must stay open: %d %+v", resp.StatusCode, rules)
			}
		})
	}
}

// listenOn reports another listener address than the daemon's.
type listenOn struct {
	console.Backend
	addr string
}

func (l listenOn) ListenAddr() string { return l.addr }

func TestValidateReportsPositionedProblems(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	col := func(path string) int {
		_, err := jsonpath.Parse(path)
		var se *jsonpath.SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("jsonpath.Parse(%q) = %v, want a syntax error", path, err)
		}
		return se.Column()
	}
	for _, tc := range []struct {
		name  string
		rule  string
		valid bool
		want  []rule.Problem // field and column; the message is checked to be non-empty
	}{
		{"valid", loginRule, true, nil},
		{"unclosed bracket", `{"id":"r","scope":"*","when":{"path":"$.type[","op":"exists"},"threshold":1}`, false,
			[]rule.Problem{{Field: "when.path", Column: col("$.type[")}}},
		{"bad filter in the second condition", `{"id":"r","scope":"*","when":{"all":[{"path":"$.a"},{"path":"$.b[?(@.c = 1)]","op":"exists"}]},"threshold":1}`, false,
			[]rule.Problem{{Field: "when.all[1].path", Column: col("$.b[?(@.c = 1)]")}}},
		{"several problems at once", `{"id":"","scope":"","when":{"path":"$.x","op":"~"},"threshold":0}`, false,
			[]rule.Problem{{Field: "id"}, {Field: "scope"}, {Field: "threshold"}, {Field: "when.op"}}},
		{"operator without value", `{"id":"r","scope":"c-1","when":{"path":"$.n","op":">"},"threshold":2}`, false,
			[]rule.Problem{{Field: "when.value"}}},
		{"unknown field", `{"id":"r","scope":"*","when":{"path":"$.n"},"treshold":2}`, false,
			[]rule.Problem{{Field: "rule"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v console.ValidateResponse
			if resp := call(t, "POST", d.url("/v1/console/validate"), "", draft(tc.rule), &v); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if v.Valid != tc.valid {
				t.Fatalf("valid = %v, want %v: %+v", v.Valid, tc.valid, v)
			}
			if tc.valid {
				if v.Rule == nil || v.Rule.Version != 1 || v.Rule.Aggregate.Fn != "count" || len(v.Problems) != 0 {
					t.Errorf("valid rule not normalized: %+v", v)
				}
				return
			}
			if len(v.Problems) != len(tc.want) {
				t.Fatalf("problems %+v, want fields %+v", v.Problems, tc.want)
			}
			for i, p := range v.Problems {
				if p.Field != tc.want[i].Field || p.Column != tc.want[i].Column || p.Msg == "" {
					t.Errorf("problem %d = %+v, want field %q column %d", i, p, tc.want[i].Field, tc.want[i].Column)
				}
			}
			if tc.want[0].Column > 0 && tc.want[0].Column < 2 {
				t.Errorf("column %d points at the start of the path", tc.want[0].Column)
			}
		})
	}
	var e contract.ErrorResponse
	if resp := call(t, "POST", d.url("/v1/console/validate"), "", map[string]any{"rules": 1}, &e); resp.StatusCode != 400 || e.Error == "" {
		t.Errorf("malformed request: %d %q", resp.StatusCode, e.Error)
	}
}

// previewEvents are the lake's contents for the preview tests: times one second apart,
// the newest last, all within the last hour but c-3's login failure, 72 hours old.
func previewEvents() []event {
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	spec := []struct {
		customer, typ string
		roles         []string
	}{
		{"c-1", "login.failed", []string{"admin"}}, {"c-2", "login.ok", nil}, {"c-1", "login.failed", []string{"user"}},
		{"c-4", "file.read", nil}, {"c-2", "login.failed", []string{"admin"}}, {"c-1", "login.ok", nil},
		{"c-3", "login.failed", []string{"admin"}}, {"c-1", "login.failed", []string{"admin", "ops"}}, {"c-2", "login.ok", nil},
		{"c-4", "file.read", nil}, {"c-2", "login.failed", []string{"user"}}, {"c-3", "login.ok", nil},
		{"c-1", "login.ok", nil}, {"c-2", "login.ok", nil}, {"c-4", "file.read", nil}, {"c-1", "login.failed", []string{"admin"}},
	}
	evs := make([]event, len(spec))
	for i, s := range spec {
		evs[i] = event{customer: s.customer, typ: s.typ, roles: s.roles, at: base.Add(time.Duration(i) * time.Second)}
		if s.customer == "c-3" && s.typ == "login.failed" {
			evs[i].at = base.Add(-72 * time.Hour)
		}
	}
	return evs
}

func TestPreviewMatchesTheOracle(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	evs := previewEvents()
	produce(t, d.b, evs)
	d.waitLake(t, int64(len(evs)))

	// The oracle reads the events in Go, not through the rule engine.
	isAdmin := func(e event) bool { return slices.Contains(e.roles, "admin") }
	newestFirst := slices.Clone(evs)
	slices.SortFunc(newestFirst, func(a, b event) int { return b.at.Compare(a.at) })
	oracle := func(sample int, lookback time.Duration, scope string, threshold int64, match func(event) bool) (events, matches int, counts map[string]int64, alert []string) {
		counts = map[string]int64{}
		for _, e := range newestFirst {
			if (scope != "*" && e.customer != scope) || (lookback > 0 && e.at.Before(time.Now().Add(-lookback))) {
				continue
			}
			if events == sample {
				break
			}
			events++
			if match(e) {
				matches++
				counts[e.customer]++
			}
		}
		for c, n := range counts {
			if n >= threshold {
				alert = append(alert, c)
			}
		}
		slices.Sort(alert)
		return
	}
	failed := func(e event) bool { return e.typ == "login.failed" }
	for _, tc := range []struct {
		name      string
		rule      string
		sample    int
		lookback  time.Duration
		scope     string
		threshold int64
		match     func(event) bool
	}{
		{"global", loginRule, 0, 0, "*", 3, failed},
		{"lookback leaves out old events", `{"id":"x","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2,"lookback":"24h"}`,
			0, 24 * time.Hour, "*", 2, failed},
		{"one customer", `{"id":"x","scope":"c-2","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`,
			0, 0, "c-2", 2, failed},
		{"all of two conditions, no id yet", `{"scope":"*","when":{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.actor.roles[*]","op":"==","value":"admin"}]},"threshold":2}`,
			0, 0, "*", 2, func(e event) bool { return failed(e) && isAdmin(e) }},
		{"small sample is the newest events", loginRule, 5, 0, "*", 1, failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := draft(tc.rule)
			if tc.sample > 0 {
				body["sample"] = tc.sample
			}
			var p console.PreviewResult
			if resp := call(t, "POST", d.url("/v1/console/preview"), "", body, &p); resp.StatusCode != 200 {
				t.Fatalf("status %d: %+v", resp.StatusCode, p)
			}
			sample := tc.sample
			if sample == 0 {
				sample = 5000
			}
			threshold := tc.threshold
			if tc.sample > 0 {
				threshold = p.Threshold.Count() // the rule's own (loginRule: 3)
			}
			events, matches, counts, alert := oracle(sample, tc.lookback, tc.scope, threshold, tc.match)
			if p.Sample.Events != events || p.Matches != matches || p.Sample.LakeEvents != int64(len(evs)) {
				t.Errorf("sampled %d events, %d matches, lake %d; oracle %d, %d, %d", p.Sample.Events, p.Matches, p.Sample.LakeEvents, events, matches, len(evs))
			}
			if !slices.Equal(p.WouldAlert, alert) && !(len(p.WouldAlert) == 0 && len(alert) == 0) {
				t.Errorf("would alert %v, oracle %v", p.WouldAlert, alert)
			}
			got := map[string]int64{}
			for _, c := range p.Customers {
				got[c.Customer] = c.Matches
				if c.WouldAlert != (c.Matches >= threshold) {
					t.Errorf("customer %+v: would_alert wrong for threshold %d", c, threshold)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(counts) || p.CustomersTotal != len(counts) {
				t.Errorf("matches per customer %v (of %d), oracle %v", got, p.CustomersTotal, counts)
			}
			if len(p.Examples) != min(matches, 20) {
				t.Fatalf("%d examples for %d matches", len(p.Examples), matches)
			}
			for i := 1; i < len(p.Examples); i++ {
				if p.Examples[i].EventTime.After(p.Examples[i-1].EventTime) {
					t.Errorf("examples not newest first: %v", p.Examples)
				}
			}
			var first event
			for _, e := range newestFirst {
				if (tc.scope == "*" || e.customer == tc.scope) && tc.match(e) {
					first = e
					break
				}
			}
			if ex := p.Examples[0]; ex.Payload != first.json() || ex.Customer != first.customer || !ex.EventTime.Equal(first.at) {
				t.Errorf("newest example %+v, want %s at %v", ex, first.json(), first.at)
			}
		})
	}

	var v console.ValidateResponse
	if resp := call(t, "POST", d.url("/v1/console/preview"), "", draft(`{"scope":"*","when":{"path":"$["},"threshold":1}`), &v); resp.StatusCode != 422 ||
		v.Valid || len(v.Problems) != 1 || v.Problems[0].Field != "when.path" || v.Problems[0].Column == 0 {
		t.Errorf("invalid draft: %d %+v", resp.StatusCode, v)
	}
}

func TestPreviewOfAnEmptyLakeSaysWhy(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	var p console.PreviewResult
	if resp := call(t, "POST", d.url("/v1/console/preview"), "", draft(loginRule), &p); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if p.Sample.Events != 0 || p.Matches != 0 || !strings.Contains(p.Note, "no events") {
		t.Errorf("empty lake preview: %+v", p)
	}
}

func TestSaveReportsTheDaemonStatus(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	save := func(js string) (int, console.SaveResponse) {
		var s console.SaveResponse
		resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(js), &s)
		return resp.StatusCode, s
	}
	v2 := strings.Replace(loginRule, `"threshold":3`, `"threshold":4`, 1)
	for _, tc := range []struct {
		name    string
		rule    string
		code    int
		status  string
		version int64
		offset  int64
		msg     string
	}{
		{"new rule", loginRule, 200, "ok", 1, 0, ""},
		{"the same again publishes nothing", loginRule, 200, "unchanged", 1, -1, "nothing was published"},
		{"a change gets the next version", v2, 200, "ok", 2, 1, ""},
		{"an explicit old version is stale", strings.Replace(loginRule, `"id"`, `"version":1,"id"`, 1), 409, "stale", 1, 2, "not newer"},
		{"an invalid rule is not published", `{"id":"bad","scope":"*","when":{"path":"$..["},"threshold":1}`, 422, "invalid", 0, -1, "when.path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, s := save(tc.rule)
			if code != tc.code || s.Status != tc.status || s.Version != tc.version || s.Offset != tc.offset || !strings.Contains(s.Message, tc.msg) {
				t.Errorf("got %d %+v, want %d %s version %d offset %d message ~%q", code, s, tc.code, tc.status, tc.version, tc.offset, tc.msg)
			}
		})
	}
	if r, ok := d.Registry().Get(rule.Key{Scope: "*", ID: "login-failures"}); !ok || r.Version != 2 || r.Threshold.Count() != 4 {
		t.Fatalf("active rule %+v", r)
	}
	var rules console.RulesResponse
	call(t, "GET", d.url("/v1/console/rules"), "", nil, &rules)
	if len(rules.Rules) != 1 || rules.Rules[0].Version != 2 || rules.Rules[0].State != "error" || !strings.Contains(rules.Rules[0].LastError, "not newer") {
		t.Errorf("rules after a stale save: %+v", rules.Rules)
	}

	// After the stale save the daemon writes the active version back, so that
	// compaction keeps it (live's TestCompactionKeepsActiveRules).
	d.b.WaitTopicRecords(t, "controls", 4, 10*time.Second)
	var s console.SaveResponse
	if resp := call(t, "DELETE", d.url("/v1/console/rules?scope=*&id=login-failures"), "", nil, &s); resp.StatusCode != 200 || s.Status != "ok" || s.Offset != 4 {
		t.Errorf("delete: %d %+v", resp.StatusCode, s)
	}
	if resp := call(t, "DELETE", d.url("/v1/console/rules?scope=*&id=login-failures"), "", nil, &s); resp.StatusCode != 404 || s.Status != "not_found" || s.Offset != -1 {
		t.Errorf("delete again: %d %+v", resp.StatusCode, s)
	}
	if n := d.b.TopicRecords(t, "controls"); n != 5 {
		t.Errorf("controls topic holds %d records, want 5 (two upserts, a stale one, the active one back, a delete)", n)
	}
}

func TestAlertsAreFollowedAndDeduplicated(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	// Alerts published before the console is first used: it reads back the last few.
	var early []*kgo.Record
	for i := range 5 {
		a := contract.Alert{AlertID: fmt.Sprintf("early-%d", i), RuleID: "r", Scope: "*", Version: 1, Customer: "c-9", Count: 1, Threshold: rule.AtLeast(1), EventTime: time.Now().UTC(), Source: "live"}
		v, _ := json.Marshal(a)
		early = append(early, &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: v})
	}
	d.b.Produce(t, early...)
	small, err := console.New(console.Config{Backend: d.ConsoleBackend(), RecentAlerts: 3})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(small)
	t.Cleanup(srv.Close)
	t.Cleanup(small.Close)
	var got console.AlertsResponse
	poll.Until(t, 20*time.Second, "the last 3 alerts", func() bool {
		call(t, "GET", srv.URL+"/v1/console/alerts", "", nil, &got)
		return len(got.Alerts) == 3
	})
	if ids := alertIDs(got.Alerts); ids != "early-4 early-3 early-2" {
		t.Errorf("recent alerts %s, want the last 3 newest first", ids)
	}

	// A stream gets the recent alerts, the rules, then each new alert.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream := openStream(t, ctx, d.url("/v1/console/stream"))
	ev := stream.next(t)
	if ev.name != "alerts" {
		t.Fatalf("first event %q, want alerts", ev.name)
	}
	if ev = stream.next(t); ev.name != "rules" {
		t.Fatalf("second event %q, want rules", ev.name)
	}

	var s console.SaveResponse
	if call(t, "POST", d.url("/v1/console/rules"), "", draft(`{"id":"two-reads","scope":"*","when":{"path":"$.type","op":"==","value":"file.read"},"threshold":2}`), &s); s.Status != "ok" {
		t.Fatalf("save: %+v", s)
	}
	produce(t, d.b, []event{{customer: "c-4", typ: "file.read", at: time.Now()}, {customer: "c-4", typ: "file.read", at: time.Now()}})
	// The stream may first carry the early alerts, read back after it connected.
	seen := map[string]int{}
	a := stream.nextAlert(t, seen, func(a contract.Alert) bool { return a.RuleID == "two-reads" })
	if a.RuleID != "two-reads" || a.Customer != "c-4" || a.Count != 2 || a.Threshold.Count() != 2 || a.AlertID != contract.AlertID("*", "two-reads", 1, "c-4", 2) {
		t.Fatalf("streamed alert %+v", a)
	}

	var counts console.CountsResponse
	if resp := call(t, "GET", d.url("/v1/console/counts?scope=*&id=two-reads"), "", nil, &counts); resp.StatusCode != 200 ||
		counts.Customers != 1 || counts.Total != 2 || len(counts.Top) != 1 || counts.Top[0] != (contract.CustomerCount{Customer: "c-4", Count: 2, PartitionMax: 2}) {
		t.Errorf("counts: %d %+v", resp.StatusCode, counts)
	}
	var e contract.ErrorResponse
	if resp := call(t, "GET", d.url("/v1/console/counts?scope=c-4&id=two-reads"), "", nil, &e); resp.StatusCode != 404 {
		t.Errorf("counts of a rule that is not active: %d %q", resp.StatusCode, e.Error)
	}

	// The same alert again (another instance, a restart), and a record that is not an
	// alert: neither shows; a later alert does.
	dup, _ := json.Marshal(a)
	d.b.Produce(t,
		&kgo.Record{Topic: "alerts", Key: []byte("c-4"), Value: dup},
		&kgo.Record{Topic: "alerts", Key: []byte("c-4"), Value: []byte("not json")},
		&kgo.Record{Topic: "alerts", Key: []byte("c-5"), Value: []byte(`{"alert_id":"later","rule_id":"r","scope":"*","version":1,"customer":"c-5","count":1,"threshold":1,"source":"live"}`)})
	stream.nextAlert(t, seen, func(a contract.Alert) bool { return a.AlertID == "later" })
	for id, n := range seen {
		if n != 1 {
			t.Errorf("alert %s streamed %d times", id, n)
		}
	}
	call(t, "GET", d.url("/v1/console/alerts"), "", nil, &got)
	if ids := alertIDs(got.Alerts); ids != "later "+a.AlertID+" early-4 early-3 early-2 early-1 early-0" {
		t.Errorf("recent alerts %s", ids)
	}

	// Shutting the daemon down ends the stream, and the daemon stops cleanly (the
	// cleanup of StartLive checks its exit).
	d.stop()
	for {
		if _, err := stream.read(); err != nil {
			break
		}
	}
	select {
	case <-d.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop with a stream open")
	}
	if err := d.Wait(); err != nil {
		t.Fatalf("daemon stopped with %v", err)
	}
}

func alertIDs(as []contract.Alert) string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.AlertID
	}
	return strings.Join(ids, " ")
}

type sseEvent struct{ name, data string }

type sseStream struct {
	resp *http.Response
	rd   *bufio.Reader
}

func openStream(t *testing.T, ctx context.Context, url string) *sseStream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &sseStream{resp: resp, rd: bufio.NewReader(resp.Body)}
}

// read returns the next event (name "" for comments and the retry line).
func (s *sseStream) read() (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			return ev, nil
		case strings.HasPrefix(line, "event: "):
			ev.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			ev.data += line[len("data: "):]
		}
	}
}

// nextAlert reads alert events until one satisfies want, counting each id in seen.
func (s *sseStream) nextAlert(t *testing.T, seen map[string]int, want func(contract.Alert) bool) contract.Alert {
	t.Helper()
	for {
		ev := s.next(t)
		if ev.name != "alert" {
			continue
		}
		var a contract.Alert
		if err := json.Unmarshal([]byte(ev.data), &a); err != nil {
			t.Fatalf("alert event %q: %v", ev.data, err)
		}
		seen[a.AlertID]++
		if want(a) {
			return a
		}
	}
}

func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	for {
		ev, err := s.read()
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if ev.name != "" {
			return ev
		}
	}
}

func TestPageIsServedFromEmbeddedAssets(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<script src="/console/app.js">`},
		{"/console/stream.js", "javascript", `new EventSource(API + "/stream")`},
		{"/console/app.js", "javascript", `function init()`},
		{"/console/style.css", "text/css", ".badge.backfilling"},
	} {
		resp, err := http.Get(d.url(tc.path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: %d %s, %d bytes", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		// Nothing is fetched from elsewhere: no CDN, no fonts, no analytics.
		for _, ext := range []string{"http://", "https://", "//cdn", "@import"} {
			if strings.Contains(string(body), ext) {
				t.Errorf("GET %s refers to %q: the page must be self-contained", tc.path, ext)
			}
		}
	}
	var e contract.ErrorResponse
	if resp := call(t, "GET", d.url("/v1/console/nope"), "", nil, &e); resp.StatusCode != 404 || !strings.Contains(e.Error, "API.md") {
		t.Errorf("unknown endpoint: %d %q", resp.StatusCode, e.Error)
	}
	// The daemon's own endpoints are still its own.
	poll.Until(t, 10*time.Second, "healthz ok", func() bool {
		var health map[string]any
		return livetest.GetJSON(t, d.url("/healthz"), &health) == 200 && health["status"] == "ok"
	})
}

// TestAlertsNewestFirstAcrossPartitions: GET /v1/console/alerts is "the recent
// alerts, newest first" (console/API.md). With an alerts topic of two partitions and
// alerts a1..a4 produced one after the other, alternating partitions, it must list
// a4, a3, a2, a1. The feed listed them in the order their partitions were fetched.
func TestAlertsNewestFirstAcrossPartitions(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	adm := kadm.NewClient(b.Client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "alerts2"); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 4; i++ {
		at := base.Add(time.Duration(i) * time.Minute)
		v := fmt.Sprintf(`{"alert_id":"a%d","status":"firing","rule_id":"r","scope":"*","version":1,"customer":"c","count":1,"threshold":1,"partition":0,"offset":%d,"event_time":%q,"source":"live"}`,
			i, i, at.Format(time.RFC3339))
		b.Produce(t, &kgo.Record{Topic: "alerts2", Partition: int32(i % 2), Value: []byte(v), Timestamp: at})
	}
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Topics.Alerts = "alerts2"
		c.NoNotify = true
	})
	url := "http://" + d.HTTPAddr() + "/v1/console/alerts"
	var got console.AlertsResponse
	poll.Until(t, 10*time.Second, "4 alerts", func() bool {
		call(t, "GET", url, "", nil, &got)
		return len(got.Alerts) == 4
	})
	var ids []string
	for _, a := range got.Alerts {
		ids = append(ids, a.AlertID)
	}
	if fmt.Sprint(ids) != "[a4 a3 a2 a1]" {
		t.Errorf("alerts listed %v, want newest first [a4 a3 a2 a1]", ids)
	}
	// limit: the newest that many; 0, none (the page polls error so, the stream sends
	// the alerts); not a number from 0, 400.
	for _, c := range []struct {
		query string
		want  string
	}{{"?limit=2", "[a4 a3]"}, {"?limit=0", "[]"}, {"?limit=9", "[a4 a3 a2 a1]"}} {
		got = console.AlertsResponse{}
		if resp := call(t, "GET", url+c.query, "", nil, &got); resp.StatusCode != 200 {
			t.Fatalf("GET alerts%s: %d", c.query, resp.StatusCode)
		}
		ids = []string{}
		for _, a := range got.Alerts {
			ids = append(ids, a.AlertID)
		}
		if fmt.Sprint(ids) != c.want {
			t.Errorf("GET alerts%s listed %v, want %s", c.query, ids, c.want)
		}
	}
	for _, q := range []string{"?limit=-1", "?limit=x"} {
		var e contract.ErrorResponse
		if resp := call(t, "GET", url+q, "", nil, &e); resp.StatusCode != 400 || !strings.Contains(e.Error, "limit must be a number from 0") {
			t.Errorf("GET alerts%s: %d %q, want 400 saying what limit takes", q, resp.StatusCode, e.Error)
		}
	}
}

// TestAlertsErrorClearsOnceReadingRecovers: API.md, GET /v1/console/alerts: "`error`
// reports a persisting problem reading it". One failed fetch of the alerts topic, after
// which every fetch succeeds, is no persisting problem; the error once stayed in every
// answer until an alert happened to arrive, however long that was.
func TestAlertsErrorClearsOnceReadingRecovers(t *testing.T) {
	t.Parallel()
	d := startDaemonWith(t, "", func(c *live.Config) { c.NoNotify = true })
	// The first fetch that names the alerts topic (the console's first) fails, once.
	var failed atomic.Int32
	d.b.FailFetches(t, "alerts", kerr.UnknownServerError, func() bool { return failed.CompareAndSwap(0, 1) })

	con, err := console.New(console.Config{Backend: d.ConsoleBackend()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	t.Cleanup(srv.Close)
	t.Cleanup(con.Close)

	var got console.AlertsResponse
	call(t, "GET", srv.URL+"/v1/console/alerts", "", nil, &got) // starts following the topic
	poll.Until(t, 20*time.Second, "the failed fetch", func() bool { return failed.Load() > 0 })
	// Seen in an answer first, so that its clearing below is the feed's doing: the
	// error stands until a later poll reads without one (a quiet poll, 2 s, at least).
	poll.Until(t, 10*time.Second, "the failed fetch to show as the alerts' error", func() bool {
		got = console.AlertsResponse{}
		call(t, "GET", srv.URL+"/v1/console/alerts", "", nil, &got)
		return got.Error != ""
	})
	t.Logf("after the failed fetch: error %q", got.Error)
	// Reading recovers at once: every later fetch succeeds, and no alert comes. The
	// error must go within a few quiet polls.
	poll.Until(t, 10*time.Second, "the error to clear with no alert coming", func() bool {
		got = console.AlertsResponse{}
		call(t, "GET", srv.URL+"/v1/console/alerts", "", nil, &got)
		return got.Error == ""
	})
	// The console was reading all along: an alert produced now shows at once.
	a := contract.Alert{AlertID: "later", RuleID: "r", Scope: "*", Version: 1, Customer: "c-9", Count: 1, Threshold: rule.AtLeast(1), EventTime: time.Now().UTC(), Source: "live"}
	v, _ := json.Marshal(a)
	d.b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: v})
	poll.Until(t, 10*time.Second, "the new alert", func() bool {
		got = console.AlertsResponse{}
		call(t, "GET", srv.URL+"/v1/console/alerts", "", nil, &got)
		return len(got.Alerts) == 1 && got.Error == ""
	})
}

// TestDraftThatIsNotARuleObjectSaysWhatItIs: a preview, backtest or validation of a
// rule that is not a JSON object is refused (400, as API.md says of a body that is not
// {"rule": {…}}) with what it is, in the rule language's words, not Go's type names.
func TestDraftThatIsNotARuleObjectSaysWhatItIs(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, tc := range []struct{ rule, msg string }{
		{`[1]`, "rule is not a JSON object: it is a list"},
		{`"login"`, "rule is not a JSON object: it is a string"},
		{`7`, "rule is not a JSON object: it is a number"},
		{`true`, "rule is not a JSON object: it is a boolean"},
		{`false`, "rule is not a JSON object: it is a boolean"},
		{`null`, `request body has no rule: send {"rule": {…}}`},
	} {
		for _, path := range []string{"/v1/console/preview", "/v1/console/backtest", "/v1/console/validate"} {
			var e contract.ErrorResponse
			if resp := call(t, "POST", d.url(path), "", draft(tc.rule), &e); resp.StatusCode != 400 || e.Error != tc.msg {
				t.Errorf("%s of %s: %d %q, want 400 %q", path, tc.rule, resp.StatusCode, e.Error, tc.msg)
			}
		}
	}
}
