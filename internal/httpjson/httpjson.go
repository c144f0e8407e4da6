// Package httpjson writes the JSON answers of Hindsight's HTTP API, the daemon's and the
// console's alike: one encoding (no HTML escaping, never cached) and one error body
// (contract.ErrorResponse), so that every endpoint answers in the same shape. It also
// reads their query strings (Query), so that every endpoint refuses a malformed one
// the same way.
package httpjson

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hindsightdev/hindsight/contract"
)

// Write answers code with v as JSON. A value encoding/json refuses (a time past year
// 9999, a MarshalJSON that fails) is answered 500 with the error body saying what could
// not be encoded, and logged: the status used to be sent before encoding, so such an
// answer went out as code with an empty body.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// json.Encoder encodes the whole value into a buffer of its own and writes it in
	// one Write, only when encoding succeeded; the status waits for that Write, so the
	// answer is not copied into a second buffer (a /v1/rules answer may be gigabytes).
	hw := &headerOnWrite{w: w, code: code}
	enc := json.NewEncoder(hw)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	if err == nil || hw.wrote {
		return // an error past the write is the client's: gone, nothing to tell it
	}
	slog.Default().Error("a JSON answer could not be encoded", "type", fmt.Sprintf("%T", v), "status", code, "err", err)
	hw.code = http.StatusInternalServerError
	enc = json.NewEncoder(hw)
	enc.SetEscapeHTML(false)
	// An ErrorResponse always encodes (a string's bad UTF-8 is replaced).
	_ = enc.Encode(contract.ErrorResponse{Error: fmt.Sprintf("the answer (%T) could not be encoded as JSON: %v", v, err)})
}

// headerOnWrite sends the status with the first bytes of the body.
type headerOnWrite struct {
	w     http.ResponseWriter
	code  int
	wrote bool
}

func (h *headerOnWrite) Write(b []byte) (int, error) {
	if !h.wrote {
		h.wrote = true
		h.w.WriteHeader(h.code)
	}
	return h.w.Write(b)
}

// Error answers code with the error body {"error": msg}.
func Error(w http.ResponseWriter, code int, msg string) {
	Write(w, code, contract.ErrorResponse{Error: msg})
}
