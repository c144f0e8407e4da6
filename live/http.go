package live

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hindsightdev/hindsight/rule"
)

func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.handleHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.cfg.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/rules", d.handleRules)
	mux.HandleFunc("GET /v1/counts", d.handleCounts)
	mux.Handle("/", d.consoleHandler()) // the rule console: GET /, /console/, /v1/console/ (console/API.md)
	mux.HandleFunc("GET /v1/state", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, d.State()) })
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

type apiError struct {
	Error string `json:"error"`
}

func (d *Daemon) handleHealth(w http.ResponseWriter, _ *http.Request) {
	loaded := false
	select {
	case <-d.rulesLoaded:
		loaded = true
	default:
	}
	status, code := "ok", http.StatusOK
	if !loaded || !d.consuming.Load() {
		status, code = "starting", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{
		"status":       status,
		"rules_loaded": loaded,
		"rules":        d.rules.Len(),
		"partitions":   d.Partitions(),
		"events":       d.eventsSeen.Load(),
		"alerts":       d.alertsRaised.Load(),
	})
}

func (d *Daemon) handleRules(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"rules":   d.Rules(),
		"invalid": d.rules.Invalid(),
	})
}

func (d *Daemon) handleCounts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k := rule.Key{Scope: q.Get("scope"), ID: q.Get("rule")}
	if k.Scope == "" {
		k.Scope = rule.GlobalScope
	}
	customer := q.Get("customer")
	if k.ID == "" {
		writeJSON(w, http.StatusBadRequest, apiError{"rule is required: /v1/counts?scope=*&rule=ID[&customer=C]"})
		return
	}
	if customer == "" {
		counts, ok := d.Counts(k)
		if !ok {
			writeJSON(w, http.StatusNotFound, apiError{"no active rule " + k.String()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"counts": counts})
		return
	}
	v, ok := d.Count(k, customer)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{"no active rule " + k.String()})
		return
	}
	writeJSON(w, http.StatusOK, v)
}
