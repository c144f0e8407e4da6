// Package httpjson writes the JSON answers of Hindsight's HTTP API, the daemon's and the
// console's alike: one encoding (no HTML escaping, never cached) and one error body
// (contract.ErrorResponse), so that every endpoint answers in the same shape. It also
// reads their query strings (Query), so that every endpoint refuses a malformed one
// the same way.
package httpjson

import (
	"encoding/json"
	"net/http"

	"github.com/hindsightdev/hindsight/contract"
)

// Write answers code with v as JSON.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// Error answers code with the error body {"error": msg}.
func Error(w http.ResponseWriter, code int, msg string) {
	Write(w, code, contract.ErrorResponse{Error: msg})
}
