package live

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/httpjson"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/rule"
)

// routes is the daemon's HTTP API (live/API.md), guarded as server.go describes:
// /healthz and /readyz are open to anyone who may address the daemon; the other reads
// need the API token when one is set, unless PublicRead; the rule console at / applies
// the same rules to its own endpoints.
func (d *Daemon) routes() http.Handler {
	ws := d.harden()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.handleHealth)
	mux.HandleFunc("GET /readyz", d.handleReady)
	mux.Handle("GET /metrics", d.read(promhttp.HandlerFor(d.cfg.Registry, promhttp.HandlerOpts{})))
	mux.Handle("GET /v1/rules", d.read(http.HandlerFunc(d.handleRules)))
	mux.Handle("GET /v1/counts", d.read(http.HandlerFunc(d.handleCounts)))
	mux.Handle("GET /v1/state", d.read(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := httpjson.Query(w, r, nil); !ok {
			return
		}
		httpjson.Write(w, http.StatusOK, d.State())
	})))
	// A known path asked with another method is 405, in JSON as the API answers
	// (the console's catch-all would leave it to net/http's plain-text 404).
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/v1/rules", "/v1/counts", "/v1/state"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", "GET, HEAD")
			httpjson.Error(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s takes GET, not %s", r.URL.Path, r.Method))
		})
	}
	cons := d.newConsole(ws)
	mux.Handle("/", cons) // the rule console: GET /, /console/, /v1/console/ (console/API.md)
	// The rest of /v1/ answers as the API does, in JSON: any other path 404.
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		// On the path as written: the console routes on it, and one whose slash is
		// escaped (/v1/console%2Frules) matches none of its routes, which left net/http
		// to answer in plain text.
		if strings.HasPrefix(r.URL.EscapedPath(), "/v1/console/") {
			cons.ServeHTTP(w, r)
			return
		}
		httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s (live/API.md lists them)", r.URL.Path))
	})
	return d.guard(ws, mux)
}

// handleRules answers every active rule, whole, in one answer built in memory: with
// rules at --max-rules and --max-rule-bytes that is gigabytes, so it is a heavy
// request, holding its slot until the answer is written (a review's 600 rules of 60
// KiB names made a 70 MiB answer and 492 MiB of allocation).
func (d *Daemon) handleRules(w http.ResponseWriter, r *http.Request) {
	if _, ok := httpjson.Query(w, r, nil); !ok {
		return
	}
	done, err := d.web().heavy.enter()
	if err != nil {
		w.Header().Set("Retry-After", "1")
		httpjson.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	defer done()
	httpjson.Write(w, http.StatusOK, d.RuleList())
}

func (d *Daemon) handleCounts(w http.ResponseWriter, r *http.Request) {
	q, ok := httpjson.Query(w, r, []string{"scope", "rule", "customer", "limit", "cursor"})
	if !ok {
		return
	}
	// A parameter given empty is not taken as absent (live/API.md): scope= would be
	// the global scope's counts, customer= every customer's listing, each an answer to
	// a question not asked.
	k := rule.Key{Scope: rule.GlobalScope, ID: q.Get("rule")}
	if q.Has("scope") {
		if k.Scope = q.Get("scope"); k.Scope == "" {
			httpjson.Error(w, http.StatusBadRequest, "scope is empty: no rule has an empty scope; leave scope out for the global scope, *")
			return
		}
	}
	customer, oneCustomer := q.Get("customer"), q.Has("customer")
	if k.ID == "" {
		httpjson.Error(w, http.StatusBadRequest, "rule is required: /v1/counts?scope=*&rule=ID[&customer=C | &limit=N&cursor=C]")
		return
	}
	if oneCustomer {
		// limit and cursor page the listing: with customer= they would go unread, and a
		// caller that meant a listing would take one count for it without a word.
		for _, name := range []string{"limit", "cursor"} {
			if q.Get(name) != "" {
				httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf(
					"%s pages the listing of every customer's count, and customer=C asks one customer's: give customer, or limit and cursor, not both", name))
				return
			}
		}
		// A customer no event can have is refused, not answered 0: ingestion
		// dead-letters such a key (verdict.CheckCustomer, the one check), and JSON
		// would name a customer that is not UTF-8 as another, real one (U+FFFD in place
		// of its bytes) with another count.
		switch _, err := verdict.CheckCustomer([]byte(customer)); {
		case errors.Is(err, verdict.ErrMissingKey):
			httpjson.Error(w, http.StatusBadRequest,
				"customer is empty: an event with an empty key goes to the dead-letter topic (missing_key), so no customer has this count; leave customer out for every customer's count")
			return
		case errors.Is(err, verdict.ErrKeyTooLong):
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf(
				"customer is %d bytes, longer than --max-customer-bytes (%d): an event with such a key goes to the dead-letter topic (key_too_long), so no customer has this count", len(customer), rule.CurrentMaxCustomerBytes()))
			return
		case errors.Is(err, verdict.ErrInvalidKey):
			httpjson.Error(w, http.StatusBadRequest,
				"customer is not valid UTF-8: an event with such a key goes to the dead-letter topic (invalid_key), so no customer has this count; percent-encode the UTF-8 bytes of the customer id")
			return
		}
		v, ok := d.Count(k, customer)
		if !ok {
			httpjson.Error(w, http.StatusNotFound, "no active rule "+k.String())
			return
		}
		httpjson.Write(w, http.StatusOK, v)
		return
	}
	limit, ownLimit := d.cfg.CountsPageSize, false
	if s := q.Get("limit"); s != "" {
		ownLimit = true
		n, ok := httpjson.PositiveInt(s)
		switch {
		case !ok:
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to %d", d.cfg.CountsMaxPageSize))
			return
		case n > d.cfg.CountsMaxPageSize:
			d.m.limits.Reached(limitCountsMaxPage)
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf(
				"limit %s is over the largest page, %d (--counts-max-page-size): read the counts page by page with cursor", s, d.cfg.CountsMaxPageSize))
			return
		}
		limit = n
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		var err error
		if after, err = decodeCountsCursor(c, k); err != nil {
			httpjson.Error(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	ws := d.web()
	done, err := ws.heavy.enter()
	if err != nil {
		w.Header().Set("Retry-After", "1")
		httpjson.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	// The slot is left before the page is written (a slow reader must not hold it),
	// and left even if reading the counts panics (net/http recovers it; the slot
	// would be gone for good).
	page, next, ok := func() ([]contract.CountView, string, bool) {
		defer done()
		return d.CountsPage(k, after, limit)
	}()
	if !ok {
		httpjson.Error(w, http.StatusNotFound, "no active rule "+k.String())
		return
	}
	// --counts-page-size is reached only by a listing it cut: one whose caller gave its
	// own limit was cut at that limit, and a last page was not cut at all.
	if next != "" && !ownLimit {
		d.m.limits.Reached(limitCountsPage)
	}
	out := contract.CountsPage{Counts: page}
	if next != "" {
		out.NextCursor = encodeCountsCursor(k, next)
	}
	httpjson.Write(w, http.StatusOK, out)
}
