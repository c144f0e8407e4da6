package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/hindsightdev/hindsight/contract"
)

// Request headers every delivery sets (besides Content-Type and User-Agent).
const (
	// HeaderIdempotencyKey is IdempotencyKey(a): the same on every attempt and every
	// redelivery of one alert in one status, so a receiver can drop repeats.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderTimestamp is the Unix time in seconds (decimal) at which the attempt was
	// signed; a receiver refuses old ones so a captured request cannot be replayed.
	HeaderTimestamp = "X-Hindsight-Timestamp"
	// HeaderSignature is Sign(secret, timestamp, body), set when the destination has a
	// secret.
	HeaderSignature = "X-Hindsight-Signature"
)

// Sign returns the X-Hindsight-Signature value for timestamp ts (Unix seconds, decimal
// text, as sent in X-Hindsight-Timestamp) and the raw request body: "v1=" and the
// lowercase hex HMAC-SHA256, keyed by secret, of ts "." body. The timestamp is signed
// so that it cannot be moved forward to replay an old request; "v1=" names the scheme
// so that another can come alongside it.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// IdempotencyKey is alert a's Idempotency-Key: its id and status. The id names the
// crossing (the same from live, a restart or a backfill); the status tells its firing
// from its resolving, which are two notifications.
func IdempotencyKey(a *contract.Alert) string { return a.AlertID + ":" + a.Status }

// validHeaderValue reports whether net/http sends v as a header's value: no control
// character but a tab (httpguts.ValidHeaderFieldValue's rule). A line break in an
// alert's id would make the request one net/http refuses before sending.
func validHeaderValue(v string) bool {
	for i := range len(v) {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}
