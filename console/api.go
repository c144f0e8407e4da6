package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/bytedance/sonic"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/httpjson"
	"github.com/hindsightdev/hindsight/internal/jsontext"
	"github.com/hindsightdev/hindsight/rule"
)

// Info is the answer of GET /v1/console/info.
type Info struct {
	ListenAddr string `json:"listen_addr"`
	// TokenRequired says writes need "Authorization: Bearer <token>".
	TokenRequired bool `json:"token_required"`
	// WritesAllowed is false when writes are refused whatever the request carries (no
	// token configured and a listener that is not loopback).
	WritesAllowed bool   `json:"writes_allowed"`
	WritePolicy   string `json:"write_policy"`
	// ReadTokenRequired says every other API call needs the token too (the daemon has a
	// token and no --public-read).
	ReadTokenRequired bool `json:"read_token_required"`
	Topics            struct {
		Controls string `json:"controls"`
		Alerts   string `json:"alerts"`
	} `json:"topics"`
	PreviewSample int `json:"preview_sample"`
	// RecentAlerts is how many recent alerts the console keeps, and the page lists
	// (--console-recent-alerts); WindowsPageSize the customers of a windows page
	// (--console-windows-page-size).
	RecentAlerts    int `json:"recent_alerts"`
	WindowsPageSize int `json:"windows_page_size"`
}

func (c *Console) handleInfo(w http.ResponseWriter, r *http.Request) {
	if _, ok := httpjson.Query(w, r, nil); !ok {
		return
	}
	addr := c.cfg.Backend.ListenAddr()
	_, topics := c.cfg.Backend.Kafka()
	in := Info{ListenAddr: addr, TokenRequired: c.cfg.APIToken != "", PreviewSample: c.cfg.PreviewSample,
		ReadTokenRequired: c.cfg.ProtectReads && c.cfg.APIToken != "",
		RecentAlerts:      c.cfg.RecentAlerts, WindowsPageSize: c.cfg.WindowsPageSize}
	switch {
	case c.cfg.APIToken != "":
		in.WritesAllowed, in.WritePolicy = true, "writes need Authorization: Bearer <token>"
	case IsLoopback(addr):
		in.WritesAllowed, in.WritePolicy = true, "no token: writes are allowed from this machine (loopback listener)"
	default:
		in.WritePolicy = "writes are disabled: the listener is not loopback and no API token is set (--api-token / HINDSIGHT_API_TOKEN)"
	}
	in.Topics.Controls, in.Topics.Alerts = topics.Controls, topics.Alerts
	httpjson.Write(w, http.StatusOK, in)
}

// RuleRow is one rule of GET /v1/console/rules.
type RuleRow struct {
	contract.RuleView
	// State is what the page shows: "backfilling", "live", or "error" when the latest
	// control for the rule was rejected or a backfill attempt failed.
	State string `json:"state"`
	// Progress sums the backfill jobs of the rule (absent when none runs).
	Progress *Progress `json:"progress,omitempty"`
	// Plain says the rule is a plain running count (rule.Rule.Plain); for any other,
	// Counts are of each customer's largest open window, and GET /v1/console/windows
	// lists the windows.
	Plain  bool                  `json:"plain"`
	Counts contract.CountSummary `json:"counts"`
}

// Progress is a rule's backfill progress over the partitions owned here.
type Progress struct {
	Partitions  int   `json:"partitions"`
	FilesDone   int   `json:"files_done"`
	FilesTotal  int   `json:"files_total"`
	Rows        int64 `json:"rows"`
	TailRecords int64 `json:"tail_records"`
	// Percent is files done over files total; -1 while the total is not known.
	Percent float64 `json:"percent"`
}

// RulesResponse is the answer of GET /v1/console/rules and the "rules" stream event.
type RulesResponse struct {
	Rules   []RuleRow                  `json:"rules"`
	Invalid []contract.RejectedControl `json:"invalid"`
	// InvalidDropped is contract.RuleList.InvalidDropped.
	InvalidDropped int64 `json:"invalid_dropped,omitempty"`
}

func (c *Console) rules() RulesResponse {
	rs := c.cfg.Backend.Rules()
	counts := c.topCounts()
	out := RulesResponse{Rules: make([]RuleRow, 0, len(rs.Rules)), Invalid: rs.Invalid, InvalidDropped: rs.InvalidDropped}
	if out.Invalid == nil {
		out.Invalid = []contract.RejectedControl{}
	}
	for _, r := range rs.Rules {
		row := RuleRow{RuleView: r, State: r.Status, Plain: r.Rule == nil || r.Rule.Plain(), Counts: counts[rule.Key{Scope: r.Scope, ID: r.ID}]}
		if row.Counts.Top == nil {
			row.Counts.Top = []contract.CustomerCount{}
		}
		if len(r.Backfill) > 0 {
			p := &Progress{Partitions: len(r.Backfill), Percent: -1}
			for _, b := range r.Backfill {
				p.FilesDone += b.FilesDone
				p.FilesTotal += b.FilesTotal
				p.Rows += b.Rows
				p.TailRecords += b.TailRecords
				if b.LastError != "" {
					row.State = contract.RuleError
				}
			}
			if p.FilesTotal > 0 {
				p.Percent = float64(p.FilesDone) * 100 / float64(p.FilesTotal)
			}
			row.Progress = p
		}
		if r.LastError != "" {
			row.State = contract.RuleError
		}
		out.Rules = append(out.Rules, row)
	}
	return out
}

// topCounts is Backend.Counts(TopCustomers), walked at most once per half refresh
// interval however many requests and streams ask (those meanwhile wait for the walk
// under way and share it): it visits every counter and window of the daemon, and the
// streams are not behind the heavy requests' gate. The rules themselves are read
// fresh, so a rule just saved is listed at once.
func (c *Console) topCounts() map[rule.Key]contract.CountSummary {
	c.countsMu.Lock()
	defer c.countsMu.Unlock()
	if c.counts == nil || time.Since(c.countsAt) >= c.cfg.RefreshInterval/2 {
		c.counts, c.countsAt = c.cfg.Backend.Counts(c.cfg.TopCustomers), time.Now()
	}
	return c.counts
}

// rulesJSON is the rules answer for streams, computed at most once per half refresh
// interval however many pages watch: counting walks every counter of the daemon.
func (c *Console) rulesJSON() ([]byte, error) {
	c.rulesMu.Lock()
	defer c.rulesMu.Unlock()
	if c.rulesData != nil && time.Since(c.rulesAt) < c.cfg.RefreshInterval/2 {
		return c.rulesData, nil
	}
	data, err := json.Marshal(c.rules())
	if err != nil {
		return nil, err
	}
	c.rulesData, c.rulesAt = data, time.Now()
	return data, nil
}

// handleRules answers every active rule, whole, built in memory: at --max-rules of
// --max-rule-bytes that is gigabytes, so it is a heavy request (Config.Admit), as GET
// /v1/rules is. The page itself learns the rules from the stream.
func (c *Console) handleRules(w http.ResponseWriter, r *http.Request) {
	if _, ok := httpjson.Query(w, r, nil); !ok {
		return
	}
	httpjson.Write(w, http.StatusOK, c.rules())
}

// CountsResponse is the answer of GET /v1/console/counts.
type CountsResponse struct {
	Scope string `json:"scope"`
	ID    string `json:"id"`
	contract.CountSummary
}

// ruleLimit reads a listing's rule (scope, id) and limit (def when absent, 1 to max),
// answering 400 and returning false when either is wrong; usage shows the request's form.
func (c *Console) ruleLimit(w http.ResponseWriter, q url.Values, usage string, def int, bound pageBound) (rule.Key, int, bool) {
	// A scope given empty is not taken as absent, as the daemon's /v1/counts reads it:
	// scope= answered the global rule's counts, a question not asked.
	k := rule.Key{Scope: rule.GlobalScope, ID: q.Get("id")}
	if q.Has("scope") {
		if k.Scope = q.Get("scope"); k.Scope == "" {
			httpjson.Error(w, http.StatusBadRequest, "scope is empty: no rule has an empty scope; leave scope out for the global scope, *")
			return k, 0, false
		}
	}
	if k.ID == "" {
		httpjson.Error(w, http.StatusBadRequest, "id is required: "+usage)
		return k, 0, false
	}
	limit, ok := c.pageLimit(w, q, def, bound)
	return k, limit, ok
}

// pageLimit reads a listing's limit (def when absent, 1 to bound.max), answering 400
// and returning false when it is wrong; one over the bound counts as reaching it.
func (c *Console) pageLimit(w http.ResponseWriter, q url.Values, def int, bound pageBound) (int, bool) {
	limit := min(def, bound.max)
	if s := q.Get("limit"); s != "" {
		n, ok := httpjson.PositiveInt(s)
		switch {
		case !ok:
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to %d", bound.max))
			return 0, false
		case n > bound.max:
			// Refused, not cut to the largest page, so that a script asking for all learns
			// it must page.
			c.reached(bound.limit)
			msg := fmt.Sprintf("limit %s is over the largest this listing gives, %d (%s)", s, bound.max, bound.flag)
			if bound.paged != "" {
				msg = fmt.Sprintf("limit %s is over the largest page, %d (%s): read the %s page by page with cursor", s, bound.max, bound.flag, bound.paged)
			}
			httpjson.Error(w, http.StatusBadRequest, msg)
			return 0, false
		}
		limit = n
	}
	return limit, true
}

// pageBound is the largest limit a listing may ask for, and the limit and flag that
// set it; paged, when set, names what a cursor pages through (said in the 400).
type pageBound struct {
	max                int
	limit, flag, paged string
}

func (c *Console) handleCounts(w http.ResponseWriter, r *http.Request) {
	q, ok := httpjson.Query(w, r, []string{"scope", "id", "limit"})
	if !ok {
		return
	}
	k, limit, ok := c.ruleLimit(w, q, "/v1/console/counts?scope=*&id=ID&limit=100", countsDefaultTop,
		pageBound{max: c.cfg.CountsMaxTop, limit: LimitCountsMaxTop, flag: "--counts-max-page-size"})
	if !ok {
		return
	}
	active := false
	for _, rs := range c.cfg.Backend.Rules().Rules {
		active = active || (rs.Scope == k.Scope && rs.ID == k.ID)
	}
	if !active {
		httpjson.Error(w, http.StatusNotFound, "no active rule "+k.String())
		return
	}
	sum := c.cfg.Backend.Counts(limit)[k]
	if sum.Top == nil {
		sum.Top = []contract.CustomerCount{}
	}
	httpjson.Write(w, http.StatusOK, CountsResponse{Scope: k.Scope, ID: k.ID, CountSummary: sum})
}

// WindowsResponse is the answer of GET /v1/console/windows: one page of a rule's
// counts in customer order, each with the customer's open windows by group, then start
// (for a rule kept per group and window; a plain count has none).
type WindowsResponse struct {
	Scope  string               `json:"scope"`
	ID     string               `json:"id"`
	Counts []contract.CountView `json:"counts"`
	// NextCursor, when not empty, is the cursor of the next page; the last page has none.
	NextCursor string `json:"next_cursor"`
}

func (c *Console) handleWindows(w http.ResponseWriter, r *http.Request) {
	q, ok := httpjson.Query(w, r, []string{"scope", "id", "limit", "cursor"})
	if !ok {
		return
	}
	k, limit, ok := c.ruleLimit(w, q, "/v1/console/windows?scope=*&id=ID&limit=20&cursor=C", c.cfg.WindowsPageSize,
		pageBound{max: c.cfg.WindowsMaxPageSize, limit: LimitWindowsMaxPage, flag: "--console-windows-max-page-size"})
	if !ok {
		return
	}
	after, err := decodeRuleCursor(q.Get("cursor"), cursorWindows, k)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	page, next, ok := c.cfg.Backend.CountsPage(k, after, limit)
	if !ok {
		httpjson.Error(w, http.StatusNotFound, "no active rule "+k.String())
		return
	}
	if page == nil {
		page = []contract.CountView{}
	}
	out := WindowsResponse{Scope: k.Scope, ID: k.ID, Counts: page}
	if next != "" {
		out.NextCursor = encodeCursor(cursorWindows, k.Scope, k.ID, next)
	}
	httpjson.Write(w, http.StatusOK, out)
}

// AlertsResponse is the answer of GET /v1/console/alerts.
type AlertsResponse struct {
	// Alerts are the recent alerts, newest first.
	Alerts []contract.Alert `json:"alerts"`
	// Error is the last problem reading the alerts topic, if it persists.
	Error string `json:"error,omitempty"`
}

func (c *Console) handleAlerts(w http.ResponseWriter, r *http.Request) {
	q, ok := httpjson.Query(w, r, []string{"limit"})
	if !ok {
		return
	}
	// limit (the newest that many; 0: none, only error) lets the page poll the error
	// without the whole list, which the stream sends it already.
	limit := -1
	if s := q.Get("limit"); s != "" {
		// A number past int's range is every alert, as one past those kept is, not a
		// malformed number.
		n, ok := httpjson.NonNegativeInt(s)
		if !ok {
			httpjson.Error(w, http.StatusBadRequest, "limit must be a number from 0 (no alerts, only error) up")
			return
		}
		limit = n
	}
	as, errMsg := c.feed.recent()
	slices.Reverse(as)
	if limit >= 0 && len(as) > limit {
		as = as[:limit]
	}
	if as == nil {
		as = []contract.Alert{}
	}
	httpjson.Write(w, http.StatusOK, AlertsResponse{Alerts: as, Error: errMsg})
}

// streamHeaders are those of a stream's answer, a HEAD's included.
func streamHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must pass each event on as it comes
}

// handleStream sends server-sent events: "alerts" (the recent alerts, newest first) on
// connect, "alert" for each new one, and "rules" (as GET /v1/console/rules) on connect
// and whenever it changes. At most MaxStreams run at once.
func (c *Console) handleStream(w http.ResponseWriter, r *http.Request) {
	if _, ok := httpjson.Query(w, r, nil); !ok {
		return
	}
	if r.Method == http.MethodHead {
		// net/http swallows a HEAD's body, so no write would ever fail: the stream
		// would run for good, holding one of MaxStreams and the connection.
		streamHeaders(w.Header())
		w.WriteHeader(http.StatusOK)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		httpjson.Error(w, http.StatusInternalServerError, "streaming is not supported by this server")
		return
	}
	if n := c.streams.Add(1); n > int64(c.cfg.MaxStreams) {
		c.streams.Add(-1)
		c.reached(LimitStreams)
		w.Header().Set("Retry-After", "5")
		httpjson.Error(w, http.StatusServiceUnavailable, fmt.Sprintf(
			"too many live streams: %d are open, the limit (--http-max-streams); close another console tab or retry later", c.cfg.MaxStreams))
		return
	}
	defer c.streams.Add(-1)
	if f := c.cfg.StreamsChanged; f != nil {
		f(1)
		defer f(-1)
	}
	// The server's write deadline bounds one answer; a stream lasts as long as the page
	// is open. Each write gets StreamWriteTimeout instead, so that a client that stops
	// reading is dropped rather than holding its slot for ever. (The read deadline needs
	// nothing: once a GET is read, net/http lifts it for its background read, which only
	// watches for the client going away.)
	rc := http.NewResponseController(w)
	extend := func() { _ = rc.SetWriteDeadline(time.Now().Add(c.cfg.StreamWriteTimeout)) }
	ch, recent := c.feed.subscribe(r.Context()) // may wait for the feed's backlog
	defer c.feed.unsubscribe(ch)
	extend()
	streamHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		extend()
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return err
		}
		fl.Flush()
		return nil
	}
	slices.Reverse(recent)
	if recent == nil {
		recent = []contract.Alert{}
	}
	if _, err := io.WriteString(w, "retry: 2000\n\n"); err != nil {
		return
	}
	if send("alerts", recent) != nil {
		return
	}
	var lastRules []byte
	sendRules := func() error {
		data, err := c.rulesJSON()
		if err != nil || bytes.Equal(data, lastRules) {
			return err
		}
		lastRules = data
		extend()
		if _, err := fmt.Fprintf(w, "event: rules\ndata: %s\n\n", data); err != nil {
			return err
		}
		fl.Flush()
		return nil
	}
	if sendRules() != nil {
		return
	}
	tick := time.NewTicker(c.cfg.RefreshInterval)
	defer tick.Stop()
	lastWrite := time.Now()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.stop:
			return
		case a, ok := <-ch:
			if !ok {
				return // the feed closed, or this stream fell behind: the page reconnects
			}
			if send("alert", a) != nil {
				return
			}
			lastWrite = time.Now()
		case <-tick.C:
			n := len(lastRules)
			if sendRules() != nil {
				return
			}
			if len(lastRules) != n {
				lastWrite = time.Now()
			}
			if time.Since(lastWrite) > 15*time.Second { // keep proxies from timing out an idle stream
				extend()
				if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
					return
				}
				fl.Flush()
				lastWrite = time.Now()
			}
		}
	}
}

// ValidateRequest is the body of POST /v1/console/validate: a rule as in a rules file
// or an upsert control. Each endpoint has its own body type, holding only the fields
// it acts on, so that a field another endpoint takes (a preview's "days", a
// backtest's "sample") is refused as unknown (400) rather than taken and ignored.
type ValidateRequest struct {
	Rule json.RawMessage `json:"rule"`
}

// PreviewRequest is the body of POST /v1/console/preview. Sample overrides the
// configured sample size; it is a pointer so that an explicit 0 is refused as out of
// range rather than mistaken for the field left out.
type PreviewRequest struct {
	Rule   json.RawMessage `json:"rule"`
	Sample *int            `json:"sample,omitempty"`
}

// BacktestRequest is the body of POST /v1/console/backtest. Days bounds it to the
// events of the last Days days (0: the whole lake).
type BacktestRequest struct {
	Rule json.RawMessage `json:"rule"`
	Days int             `json:"days,omitempty"`
}

// SaveRequest is the body of POST /v1/console/rules. WaitMS is how long to wait for
// the daemon's status; Base the rule the edit began from (without it, a save replaces
// whatever version is active).
type SaveRequest struct {
	Rule   json.RawMessage `json:"rule"`
	WaitMS int             `json:"wait_ms,omitempty"`
	Base   *SaveBase       `json:"base,omitempty"`
}

func (q *ValidateRequest) draft() json.RawMessage { return q.Rule }
func (q *PreviewRequest) draft() json.RawMessage  { return q.Rule }
func (q *BacktestRequest) draft() json.RawMessage { return q.Rule }
func (q *SaveRequest) draft() json.RawMessage     { return q.Rule }

// draftRequest is the body of an endpoint that takes a draft rule.
type draftRequest interface{ draft() json.RawMessage }

// SaveBase is the rule a console edit began from: its key (SCOPE/ID) and the version
// then active, 0 for none (the edit began as a new rule). A save is refused, status
// "conflict" and nothing published, when the rule it writes has another active
// version now than the edit expected: Version if the key is Key, else none (a new
// rule, or one renamed, must not replace a rule of that key). Two people editing one
// rule so learn of each other's save instead of the later one undoing the earlier.
type SaveBase struct {
	Key     string `json:"key"`
	Version int64  `json:"version"`
}

// check refuses a base that names no rule's state: a version outside 0…2^53 (the
// largest a rule may carry), a key that is not SCOPE/ID, or a version without a key.
// Taken as it is, such a base answered 409 "conflict", as if another version had
// become active, for a client's mistake.
func (b *SaveBase) check() error {
	if b.Version < 0 || b.Version > rule.MaxSafeInteger {
		return fmt.Errorf("base.version %d is not a version: it is the version active when the edit began, from 1 to %d, or 0 for none", b.Version, int64(rule.MaxSafeInteger))
	}
	if b.Key == "" {
		if b.Version != 0 {
			return fmt.Errorf("base.version %d is of no rule: base.key is empty (an edit begun as a new rule), whose version is 0", b.Version)
		}
		return nil
	}
	if _, err := rule.ParseKey(b.Key); err != nil {
		return fmt.Errorf("base.key %q is not the key of a rule, SCOPE/ID, nor empty for an edit begun as a new rule: %w", b.Key, err)
	}
	return nil
}

// ValidateResponse is the answer of POST /v1/console/validate, and the body of a 422
// from preview and save.
type ValidateResponse struct {
	Valid bool `json:"valid"`
	// Problems are the rule engine's positioned problems: field (e.g. "when.all[1].path")
	// and, inside a JSONPath, the 1-based column.
	Problems []rule.Problem `json:"problems"`
	// Error is the whole error as one line ("" when valid).
	Error string `json:"error,omitempty"`
	// Rule is the rule with defaults filled in, when valid.
	Rule *rule.Rule `json:"rule,omitempty"`
}

// readDraft reads the body of an endpoint that takes a draft rule into req, refusing
// (400) any field req does not have; what shows the body the endpoint takes.
func (c *Console) readDraft(w http.ResponseWriter, r *http.Request, req draftRequest, what string) bool {
	what = "request body is not " + what
	body, ok := c.decodeJSON(w, r, req, what)
	if !ok {
		return false
	}
	raw := req.draft()
	if len(raw) == 0 || string(raw) == "null" {
		httpjson.Error(w, http.StatusBadRequest, `request body has no rule: send {"rule": {…}}`)
		return false
	}
	if kind := jsonKind(raw); kind != "an object" {
		httpjson.Error(w, http.StatusBadRequest, "rule is not a JSON object: it is "+kind)
		return false
	}
	// A rule nested past max_rule_json_depth is the draft's problem, which parseDraft
	// names with the limit; the case-sensitive pass would stop at its decoder's own
	// depth first and call well-formed JSON a syntax error. Such a rule is refused
	// whichever field name carried it, so nothing is saved unchecked.
	if rule.TooDeep(raw) {
		return true
	}
	return caseSensitive(w, body, req, what)
}

// jsonKind names the kind of the JSON value v (valid JSON).
func jsonKind(v json.RawMessage) string {
	switch b := bytes.TrimLeft(v, " \t\r\n"); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "a list"
	case b[0] == '"':
		return "a string"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	case b[0] == 'n':
		return "null"
	}
	return "a number"
}

// parseDraft validates a draft rule, naming it defaultID when it has no id (none when
// defaultID is empty: saving needs a name); the response describes the outcome either way.
func parseDraft(raw []byte, defaultID string) (*rule.Rule, ValidateResponse) {
	r, err := rule.ParseDraft(raw, defaultID)
	if err == nil {
		return r, ValidateResponse{Valid: true, Problems: []rule.Problem{}, Rule: r}
	}
	resp := ValidateResponse{Error: err.Error(), Problems: []rule.Problem{}}
	var ve *rule.ValidationError
	if errors.As(err, &ve) {
		resp.Problems = ve.Problems
	} else {
		resp.Problems = []rule.Problem{{Field: "rule", Msg: err.Error()}}
	}
	return nil, resp
}

func (c *Console) handleValidate(w http.ResponseWriter, r *http.Request) {
	var req ValidateRequest
	if !c.readDraft(w, r, &req, `{"rule": {…}}`) {
		return
	}
	_, resp := parseDraft(req.Rule, "")
	httpjson.Write(w, http.StatusOK, resp)
}

// readJSON reads r's body, at most --http-max-body-bytes, into v: one JSON value,
// without unknown fields, sent as Content-Type application/json, with no query string
// parameter. Otherwise it answers
// (415 for another type, 413 over the cap, 408 past the read timeout, 400 with what,
// for anything else) and is false.
func (c *Console) readJSON(w http.ResponseWriter, r *http.Request, v any, what string) bool {
	body, ok := c.decodeJSON(w, r, v, what)
	return ok && caseSensitive(w, body, v, what)
}

// decodeJSON is readJSON but for the case-sensitive pass (caseSensitive), returning
// the body for it.
func (c *Console) decodeJSON(w http.ResponseWriter, r *http.Request, v any, what string) ([]byte, bool) {
	// Every endpoint with a body reads all it takes from the body: a query parameter
	// would be silently ignored (a validate ?lmit=5 validated as if none was sent).
	if _, ok := httpjson.Query(w, r, nil); !ok {
		return nil, false
	}
	// A browser sends a text/plain, form or multipart POST to another site without a
	// CORS preflight (a "simple" request), and without asking the daemon; JSON needs
	// one, which the daemon does not answer. Requiring JSON keeps every other site's
	// pages from posting to the console at all, whatever a handler's own checks.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		httpjson.Error(w, http.StatusUnsupportedMediaType, fmt.Sprintf("the request body must be JSON sent as Content-Type: application/json, not %q", r.Header.Get("Content-Type")))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		// Not counted here: the daemon's own cap, the same size, counts it as it cuts.
		httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over the limit of %d bytes (--http-max-body-bytes)", tooLarge.Limit))
		return nil, false
	case errors.As(err, &netErr) && netErr.Timeout():
		c.reached(LimitReadTimeout)
		httpjson.Error(w, http.StatusRequestTimeout, "the request body did not arrive in time (--http-read-timeout)")
		return nil, false
	case err != nil:
		httpjson.Error(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return nil, false
	}
	if key, off, twice := jsontext.RepeatedKey(body); twice {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("%s: %q is given twice in one object (at byte offset %d): name each field once", what, key, off))
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpjson.Error(w, http.StatusBadRequest, what+": "+err.Error())
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		httpjson.Error(w, http.StatusBadRequest, what+": more follows the JSON value")
		return nil, false
	}
	return body, true
}

// caseSensitive decodes body, which decodeJSON read into v, a second time: encoding/json
// takes a field named in another case ("Scope") for the field ("scope"), and
// RepeatedKey sees two names: after a "scope" the last of the two silently won (a mute
// of c-1 muted every customer). Decoded again, case-sensitively, such a name is an
// unknown field, answered 400 with what, and caseSensitive is false.
func caseSensitive(w http.ResponseWriter, body []byte, v any, what string) bool {
	if err := caseSensitiveJSON.Unmarshal(body, reflect.New(reflect.TypeOf(v).Elem()).Interface()); err != nil {
		httpjson.Error(w, http.StatusBadRequest, what+": "+strings.Join(strings.Fields(err.Error()), " ")+" (field names are case-sensitive)")
		return false
	}
	return true
}

// caseSensitiveJSON decodes a request body a second time, refusing a field named in
// another case than its own.
var caseSensitiveJSON = sonic.Config{DisallowUnknownFields: true, CaseSensitive: true}.Froze()

// readDraftRule reads a request for a draft that need not be named (a preview, a
// backtest) and validates the rule; on a problem it has answered (400, or 422 with the
// positioned problems) and ok is false.
func (c *Console) readDraftRule(w http.ResponseWriter, r *http.Request, req draftRequest, what string) (*rule.Rule, bool) {
	if !c.readDraft(w, r, req, what) {
		return nil, false
	}
	rl, vr := parseDraft(req.draft(), "draft")
	if rl == nil {
		httpjson.Write(w, http.StatusUnprocessableEntity, vr)
		return nil, false
	}
	return rl, true
}

func (c *Console) handlePreview(w http.ResponseWriter, r *http.Request) {
	var req PreviewRequest
	rl, ok := c.readDraftRule(w, r, &req, `{"rule": {…}, "sample": N}`)
	if !ok {
		return
	}
	n := c.cfg.PreviewSample
	if req.Sample != nil {
		n = *req.Sample
	}
	if n > c.cfg.PreviewMaxSample {
		c.reached(LimitPreviewSample)
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("sample %d is over the largest a preview may ask for, %d (--preview-max-sample)", n, c.cfg.PreviewMaxSample))
		return
	}
	if n < 1 {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("sample must be from 1 to %d", c.cfg.PreviewMaxSample))
		return
	}
	// The slot is taken once the body is in: a slow client must not hold it.
	done, ok := c.admit(w)
	if !ok {
		return
	}
	defer done()
	res, err := c.Preview(r.Context(), rl, n)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "preview: "+err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, res)
}

// SaveResponse is the answer of POST and DELETE /v1/console/rules.
type SaveResponse struct {
	// Status is the daemon's status for the published control (ok, invalid, stale,
	// not_found), "pending" when none came within the wait, or, with nothing
	// published, "invalid" (the draft does not validate), "unchanged" (it equals the
	// active rule) or "conflict" (another version is active than the edit began from,
	// SaveRequest.Base; Version is the active one, 0 for none).
	Status  string `json:"status"`
	Key     string `json:"key"`
	Op      string `json:"op"`
	Version int64  `json:"version,omitempty"`
	// Offset is the published control's offset on the controls topic (-1: none).
	Offset   int64          `json:"offset"`
	Message  string         `json:"message,omitempty"`
	Problems []rule.Problem `json:"problems,omitempty"`
}

func saveCode(status string) int {
	switch status {
	case contract.ControlOK, contract.SaveUnchanged:
		return http.StatusOK
	case contract.ControlInvalid:
		return http.StatusUnprocessableEntity
	case contract.ControlStale, contract.SaveConflict:
		return http.StatusConflict
	case contract.ControlNotFound:
		return http.StatusNotFound
	case contract.SavePending:
		return http.StatusAccepted
	}
	return http.StatusInternalServerError
}

// wait is the status wait a request's wait_ms asks for (at most a minute; compared
// before it is made a Duration, which a huge value would overflow into a negative
// wait), or StatusWait without one.
func (c *Console) wait(ms int) time.Duration {
	if ms > 0 {
		return time.Duration(min(ms, 60_000)) * time.Millisecond
	}
	return c.cfg.StatusWait
}

func (c *Console) handleSave(w http.ResponseWriter, r *http.Request) {
	var req SaveRequest
	if !c.readDraft(w, r, &req, `{"rule": {…}, "wait_ms": N, "base": {"key": "SCOPE/ID", "version": N}}`) {
		return
	}
	if req.WaitMS < 0 { // 0 or absent: the default wait
		httpjson.Error(w, http.StatusBadRequest, "wait_ms must be a positive number")
		return
	}
	if req.Base != nil {
		if err := req.Base.check(); err != nil {
			httpjson.Error(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	var peek struct {
		Version int64 `json:"version"`
	}
	_ = json.Unmarshal(req.Rule, &peek) // a malformed rule is reported by parseDraft
	rl, vr := parseDraft(req.Rule, "")
	if rl == nil {
		httpjson.Write(w, http.StatusUnprocessableEntity, SaveResponse{Status: contract.ControlInvalid, Op: rule.OpUpsert, Offset: -1,
			Message: vr.Error, Problems: vr.Problems})
		return
	}
	res, err := c.SaveRule(r.Context(), rl, peek.Version == 0, req.Base, c.wait(req.WaitMS))
	if err != nil {
		httpjson.Error(w, http.StatusBadGateway, err.Error())
		return
	}
	httpjson.Write(w, saveCode(res.Status), res)
}

func (c *Console) handleDelete(w http.ResponseWriter, r *http.Request) {
	q, ok := httpjson.Query(w, r, []string{"scope", "id", "wait_ms"})
	if !ok {
		return
	}
	if !noBody(w, r, "the query names the rule (scope, id, wait_ms), and the version deleted is the one active") {
		return
	}
	k := rule.Key{Scope: q.Get("scope"), ID: q.Get("id")}
	if k.Scope == "" || k.ID == "" {
		httpjson.Error(w, http.StatusBadRequest, "scope and id are required: DELETE /v1/console/rules?scope=*&id=ID")
		return
	}
	wait := c.cfg.StatusWait
	if s := q.Get("wait_ms"); s != "" {
		n, ok := httpjson.PositiveInt(s)
		if !ok {
			httpjson.Error(w, http.StatusBadRequest, "wait_ms must be a positive number")
			return
		}
		wait = c.wait(n)
	}
	res, err := c.DeleteRule(r.Context(), k, wait)
	if err != nil {
		httpjson.Error(w, http.StatusBadGateway, err.Error())
		return
	}
	httpjson.Write(w, saveCode(res.Status), res)
}

// noBody refuses (400, naming usage) a request body where the endpoint reads none: a
// DELETE names what it deletes in its query. A body was ignored, so that one sent
// expecting an effect ({"version": 1}: delete only that version) went unheeded and the
// delete went ahead; as a query parameter the endpoint does not read is refused, so is
// a body. A body declared by its length is refused unread; a chunked one is read for
// one byte, within the server's read timeout.
func noBody(w http.ResponseWriter, r *http.Request, usage string) bool {
	refuse := func() bool {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("%s %s takes no body: %s", r.Method, r.URL.Path, usage))
		return false
	}
	if r.ContentLength > 0 {
		return refuse()
	}
	var b [1]byte
	n, err := io.ReadFull(r.Body, b[:])
	switch {
	case n > 0:
		return refuse()
	case errors.Is(err, io.EOF):
		return true
	}
	httpjson.Error(w, http.StatusBadRequest, "reading the request body, which this endpoint does not take: "+err.Error())
	return false
}
