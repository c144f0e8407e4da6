package notify

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// Edges of what one Deliver sends, each of which a mutation hunt found no test held:
// the answer a receiver gets differed (or the retries did) and every test still passed.

// TestRecheckIsAskedOnlyBeforeRetries: DeliverRechecking asks recheck "before each
// retry" (its doc); the first attempt goes to the target it was given, which the stage
// has just judged (Stage.now). A recheck asked before the first attempt as well would
// judge the delivery twice, and a Stopped from it would end a delivery no request was
// made for.
func TestRecheckIsAskedOnlyBeforeRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fails     int // answers of 500 before a 200
		rechecks  int
		attempts  int
		delivered bool
	}{
		{"delivered at once", 0, 0, 1, true},
		{"delivered on the second attempt", 1, 1, 2, true},
		{"delivered on the third attempt", 2, 2, 3, true},
	} {
		rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n < tc.fails {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		target := Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL, Secret: testSecret}
		rechecks := 0
		out := newSender(t, testConfig()).DeliverRechecking(context.Background(), target, testAlert(), func() (Target, error) {
			rechecks++
			return target, nil
		})
		if out.Delivered != tc.delivered || out.Attempts != tc.attempts || rechecks != tc.rechecks {
			t.Errorf("%s: delivered %v after %d attempts, recheck asked %d times; want delivered %v after %d, asked %d times",
				tc.name, out.Delivered, out.Attempts, rechecks, tc.delivered, tc.attempts, tc.rechecks)
		}
		if n := len(rc.seen()); n != tc.attempts {
			t.Errorf("%s: receiver saw %d requests, want %d", tc.name, n, tc.attempts)
		}
	}
}

// TestRetryAfterOn503IsHonoured: a Retry-After is honoured "on 429 or 503"
// (SenderConfig.MaxRetryAfter's doc, RFC 9110 §10.2.3 names both). A 503 whose
// Retry-After is beyond the retry budget ends the delivery after its one attempt,
// saying so, rather than asking the receiver again on the short backoff it asked not
// to be asked within.
func TestRetryAfterOn503IsHonoured(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	cfg := testConfig()
	cfg.MaxRetryAfter = DefaultMaxRetryAfter
	out := newSender(t, cfg).Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL, Secret: testSecret}, testAlert())
	const want = "HTTP 503 after 1 attempt (Retry-After 3600 is beyond the retry budget of 10s)"
	if out.Delivered || out.Attempts != 1 || out.Reason != want {
		t.Errorf("503 with Retry-After 3600: delivered %v after %d attempts, reason %q; want undelivered after 1, reason %q",
			out.Delivered, out.Attempts, out.Reason, want)
	}
	if n := len(rc.seen()); n != 1 {
		t.Errorf("receiver saw %d requests, want 1", n)
	}
}

// TestAlertIDWithDELIsFinal: DEL (0x7f) is a control character net/http refuses in a
// header value, as it does a line break (TestAlertIDThatIsNoHeaderIsFinal). An alert id
// holding one made no request on any attempt: without DEL in validHeaderValue's rule
// the refusal read as a transport failure and the whole retry budget was spent on it.
func TestAlertIDWithDELIsFinal(t *testing.T) {
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	a := testAlert()
	a.AlertID = "id\x7fdel"
	out := newSender(t, testConfig()).Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL, Secret: testSecret}, a)
	if out.Delivered || !out.Final || out.Attempts != 1 {
		t.Errorf("alert id with DEL: delivered %v, final %v after %d attempts, reason %q; want final after 1",
			out.Delivered, out.Final, out.Attempts, out.Reason)
	}
	if n := len(rc.seen()); n != 0 {
		t.Errorf("receiver saw %d requests, want 0", n)
	}
	if validHeaderValue("id\x7fdel") {
		t.Error("validHeaderValue took DEL")
	}
	if err := checkAlert(a); err == nil {
		t.Error("checkAlert took an alert id with DEL")
	}
}

// TestNoSignatureWithoutASecret: X-Hindsight-Signature is "set when the destination has
// a secret" (HeaderSignature's doc). A destination without one gets none: a signature
// keyed by an empty secret proves nothing, and a receiver reading the header would
// take it for one.
func TestNoSignatureWithoutASecret(t *testing.T) {
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	snd := newSender(t, testConfig())
	for _, secret := range [][]byte{nil, testSecret} {
		out := snd.Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL, Secret: secret}, testAlert())
		if !out.Delivered {
			t.Fatalf("secret %q: not delivered: %+v", secret, out)
		}
	}
	hits := rc.seen()
	if len(hits) != 2 {
		t.Fatalf("receiver saw %d requests, want 2", len(hits))
	}
	if v, ok := hits[0].header[http.CanonicalHeaderKey(HeaderSignature)]; ok {
		t.Errorf("a destination without a secret got %s %q", HeaderSignature, v)
	}
	if hits[0].header.Get(HeaderTimestamp) == "" {
		t.Errorf("a destination without a secret got no %s", HeaderTimestamp)
	}
	if err := verifyPerDoc(testSecret, hits[1].header, hits[1].body, time.Now()); err != nil {
		t.Errorf("a destination with a secret: %v", err)
	}
}
