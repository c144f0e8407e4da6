package notify

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// TestSignKnownVector holds Sign to the worked example in docs/notifications.md, which
// the doc's openssl and Python snippets reproduce.
func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		secret, ts, body, want string
	}{
		{"topsecret", "1767225600", `{"alert_id":"4eea7bd5f04ebd8a189b830a5db20b3d","status":"firing"}`,
			"v1=0cd7cf20b21776c18b4fabb5040b86d676d6cf46718283772ee01565af126269"},
		// The timestamp is signed: another one gives another signature.
		{"topsecret", "1767225601", `{"alert_id":"4eea7bd5f04ebd8a189b830a5db20b3d","status":"firing"}`, ""},
	} {
		got := Sign([]byte(tc.secret), tc.ts, []byte(tc.body))
		if tc.want != "" && got != tc.want {
			t.Errorf("Sign(%q, %q, %q) = %s, want %s", tc.secret, tc.ts, tc.body, got, tc.want)
		}
		if tc.want == "" && got == "v1=0cd7cf20b21776c18b4fabb5040b86d676d6cf46718283772ee01565af126269" {
			t.Errorf("Sign ignores the timestamp")
		}
	}
	if got := IdempotencyKey(&contract.Alert{AlertID: "abc", Status: contract.StatusResolved}); got != "abc:resolved" {
		t.Errorf("IdempotencyKey = %q", got)
	}
}

// TestReceiverFromDoc runs a receiver that verifies as docs/notifications.md says
// (verifyPerDoc) and answers 401 when that fails: a correctly signed delivery gets
// through; a wrong secret, a stale clock or a missing secret do not.
func TestReceiverFromDoc(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		senderSecret []byte
		clock        time.Duration // the sender's clock, off by this
		reason       string        // "" for delivered
	}{
		{name: "signed", senderSecret: testSecret},
		{name: "clock 4 minutes behind is within tolerance", senderSecret: testSecret, clock: -4 * time.Minute},
		{name: "clock 4 minutes ahead is within tolerance", senderSecret: testSecret, clock: 4 * time.Minute},
		{name: "wrong secret", senderSecret: []byte("other"), reason: "HTTP 401 (final): signature mismatch"},
		{name: "timestamp 6 minutes old", senderSecret: testSecret, clock: -6 * time.Minute, reason: "HTTP 401 (final): timestamp outside the 5-minute tolerance"},
		{name: "no secret, no signature", reason: "HTTP 401 (final): signature mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				if err == nil {
					err = verifyPerDoc(testSecret, r.Header, body, time.Now())
				}
				if err != nil {
					http.Error(w, err.Error(), http.StatusUnauthorized)
					return
				}
				w.Write([]byte("verified"))
			}))
			defer srv.Close()
			cfg := testConfig()
			cfg.Now = func() time.Time { return time.Now().Add(tc.clock) }
			s := newSender(t, cfg)
			out := s.Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: srv.URL, Secret: tc.senderSecret}, testAlert())
			if out.Delivered != (tc.reason == "") || out.Reason != tc.reason {
				t.Errorf("outcome %+v, want reason %q", out, tc.reason)
			}
		})
	}
}

// TestTamperedRequestFails captures a real signed request, then shows that the doc's
// verification refuses it once anything signed changes.
func TestTamperedRequestFails(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {})
	s := newSender(t, testConfig())
	if out := s.Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL, Secret: testSecret}, testAlert()); !out.Delivered {
		t.Fatalf("outcome %+v", out)
	}
	h := rc.seen()[0]
	now := time.Now()
	if err := verifyPerDoc(testSecret, h.header, h.body, now); err != nil {
		t.Fatalf("the request as sent: %v", err)
	}
	flipped := bytes.Clone(h.body)
	flipped[bytes.Index(flipped, []byte(`"count":5`))+len(`"count":`)] = '9'
	later := h.header.Clone()
	ts, _ := strconv.ParseInt(h.header.Get(HeaderTimestamp), 10, 64)
	later.Set(HeaderTimestamp, strconv.FormatInt(ts+60, 10))
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
	}{
		{"a byte of the body changed", h.header, flipped},
		{"the body re-indented (same JSON, other bytes)", h.header, append([]byte(" "), h.body...)},
		{"the timestamp moved forward", later, h.body},
		{"the body of another alert", h.header, []byte(`{"alert_id":"x"}`)},
	} {
		if err := verifyPerDoc(testSecret, tc.header, tc.body, now); err == nil {
			t.Errorf("%s: verified", tc.name)
		}
	}
}
