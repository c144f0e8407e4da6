package contract

import (
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// ControlStatus is a record of the control-status topic (key: Key, the control's
// record key): the outcome of one control, so that whoever published it can see what
// happened.
type ControlStatus struct {
	Key string `json:"key"`
	// KeyBytes is the control's record key's whole size when Key holds only its first
	// bytes (controls.MaxKeyBytes, 1024: more than any valid control's key); 0 when Key
	// is whole.
	KeyBytes  int   `json:"key_bytes,omitempty"`
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
	// Status is one of the control outcomes (ControlOK, ControlInvalid, ...).
	Status string `json:"status"`
	Op     string `json:"op,omitempty"`
	// Kind is what the control is about: empty for a rule, "destination" or "mute".
	Kind    string `json:"kind,omitempty"`
	Scope   string `json:"scope,omitempty"`
	ID      string `json:"id,omitempty"`
	Version int64  `json:"version,omitempty"`
	// Message is the error, positioned (field, and column inside a JSONPath).
	Message  string         `json:"message,omitempty"`
	Problems []rule.Problem `json:"problems,omitempty"`
	Time     time.Time      `json:"time"`
}

// ErrorResponse is the body of every error answer of the HTTP API.
type ErrorResponse struct {
	Error string `json:"error"`
}
