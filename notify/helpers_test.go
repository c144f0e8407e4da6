package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// testSecret signs the tests' requests.
var testSecret = []byte("topsecret")

// testAlert is a windowed, grouped alert with context: every field set.
func testAlert() *contract.Alert {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	end := start.Add(10 * time.Minute)
	return &contract.Alert{
		AlertID: "4eea7bd5f04ebd8a189b830a5db20b3d", RuleID: "login-failures", Scope: "*", Version: 2,
		Customer: "c-1", Count: 5, Threshold: rule.AtLeast(5), Partition: 3, Offset: 91827,
		EventTime: time.Date(2026, 1, 1, 12, 4, 3, 0, time.UTC), Source: contract.SourceLive,
		Group:     map[string]json.RawMessage{"user": json.RawMessage(`"bob"`)},
		Aggregate: "count", Value: 5, WindowStart: &start, WindowEnd: &end,
		Status: contract.StatusFiring, Severity: "high",
		Context: map[string]json.RawMessage{"$.ip": json.RawMessage(`"10.0.0.7"`)},
	}
}

// testConfig is a Sender config fast enough for tests: 300ms attempts, 10-50ms
// backoff, 3 attempts, loopback allowed.
func testConfig() SenderConfig {
	return SenderConfig{
		Timeout: 300 * time.Millisecond, MaxAttempts: 3, MaxElapsed: 10 * time.Second,
		InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		AllowPrivate: true,
	}
}

func newSender(t testing.TB, cfg SenderConfig) *Sender {
	t.Helper()
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// hit is one request a receiver saw.
type hit struct {
	at     time.Time
	path   string
	header http.Header
	body   []byte
}

// receiver is a loopback HTTP server that records each request, then answers it with
// respond (n counts requests from 0).
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []hit
}

func newReceiver(t testing.TB, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.hits)
		rc.hits = append(rc.hits, hit{at: time.Now(), path: r.URL.Path, header: r.Header.Clone(), body: body})
		rc.mu.Unlock()
		respond(n, w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) seen() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

// verifyPerDoc checks a request's signature exactly as docs/notifications.md tells a
// receiver to ("Verifying a request"), and nothing more: it is written from the doc,
// not from Sign.
func verifyPerDoc(secret []byte, h http.Header, rawBody []byte, now time.Time) error {
	// 1. The timestamp header is Unix seconds; refuse one more than 5 minutes away.
	tsText := h.Get("X-Hindsight-Timestamp")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", tsText)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp outside the 5-minute tolerance")
	}
	// 2. HMAC-SHA256 keyed by the secret over timestamp "." raw body, lowercase hex,
	// prefixed "v1=".
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(tsText + "." + string(rawBody)))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	// 3. Compare in constant time.
	if !hmac.Equal([]byte(want), []byte(h.Get("X-Hindsight-Signature"))) {
		return errors.New("signature mismatch")
	}
	return nil
}

// checkHits asserts that each request carried the delivery's headers, the same
// Idempotency-Key and a valid signature.
func checkHits(t *testing.T, hits []hit, a *contract.Alert) {
	t.Helper()
	for i, h := range hits {
		if got := h.header.Get("Idempotency-Key"); got != a.AlertID+":"+a.Status {
			t.Errorf("request %d: Idempotency-Key %q", i, got)
		}
		if got := h.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("request %d: Content-Type %q", i, got)
		}
		if got := h.header.Get("User-Agent"); got != DefaultUserAgent {
			t.Errorf("request %d: User-Agent %q", i, got)
		}
		if err := verifyPerDoc(testSecret, h.header, h.body, time.Now()); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
}
