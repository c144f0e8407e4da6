package notify

import (
	"context"
	"net/http"
	"testing"
)

// TestStatusEdgesAreNotDeliveries: 300 is a redirect, not a 2xx, and 600 is past the
// 5xx a retry may change (RFC 9110 defines none; an unknown class is final). Taking
// 300 for delivered, naming it other than a redirect, or retrying a 600 each left
// every test passing.
func TestStatusEdgesAreNotDeliveries(t *testing.T) {
	for _, tc := range []struct {
		code     int
		attempts int
		reason   string
	}{
		{http.StatusMultipleChoices, 1, "HTTP 300 (final): redirect not followed"},
		{600, 1, "HTTP 600 (final)"},
		{599, 3, "HTTP 599 after 3 attempts"},
	} {
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(tc.code) })
		out := newSender(t, testConfig()).Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL}, testAlert())
		if out.Delivered || out.Attempts != tc.attempts || out.Reason != tc.reason || out.Status != tc.code {
			t.Errorf("answer %d: delivered %v after %d attempts, status %d, reason %q; want undelivered after %d, reason %q",
				tc.code, out.Delivered, out.Attempts, out.Status, out.Reason, tc.attempts, tc.reason)
		}
		if n := len(rc.seen()); n != tc.attempts {
			t.Errorf("answer %d: receiver saw %d requests, want %d", tc.code, n, tc.attempts)
		}
	}
}
