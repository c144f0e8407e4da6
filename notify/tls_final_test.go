package notify

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCertificateThatDoesNotVerifyIsFinal: the package doc says a TLS certificate
// that does not verify ends the delivery at once (Outcome.Final), as no retry within
// the budget changes it; a certificate whose name does not match a url_from URL's host
// is said without that host. Nothing checked either: retried as a connection error, the
// mutation hunt's mutant made the full budget of attempts and no test failed. The
// receiver is httptest's TLS server, whose certificate no system pool trusts and which
// names 127.0.0.1, ::1 and example.com only.
func TestCertificateThatDoesNotVerifyIsFinal(t *testing.T) {
	t.Parallel()
	var handshakes atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("a request reached the receiver whose certificate does not verify")
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			handshakes.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// testConfig's 300 ms per attempt is not enough for a TLS handshake on a loaded
	// machine: the first attempt timed out (retried, as a timeout is) and the second
	// saw the certificate ('Attempts:2 ... Elapsed:417ms'). Finality is the point here.
	cfg := testConfig() // 3 attempts
	cfg.Timeout = 10 * time.Second
	s := newSender(t, cfg)
	for _, tc := range []struct {
		name   string
		target Target
		reason string // its prefix
	}{
		{"unknown authority", Target{Name: "hook", Type: TypeWebhook, URL: srv.URL + secretPath, Secret: testSecret},
			"TLS certificate: x509: certificate signed by unknown authority"},
		{"a secret URL's host not in the certificate", Target{Name: "hook", Type: TypeWebhook, URL: "https://localhost:" + u.Port() + secretPath, Secret: testSecret, SecretURL: true},
			"TLS certificate: not valid for the destination's host"},
	} {
		before := handshakes.Load()
		out := s.Deliver(context.Background(), tc.target, testAlert())
		if out.Delivered || !out.Final || out.Attempts != 1 || !strings.HasPrefix(out.Reason, tc.reason) {
			t.Errorf("%s: outcome %+v, want final after 1 attempt, reason starting %q", tc.name, out, tc.reason)
		}
		if strings.Contains(out.Reason, "s3cr3t") || tc.target.SecretURL && strings.Contains(out.Reason, "localhost") {
			t.Errorf("%s: reason %q quotes the URL", tc.name, out.Reason)
		}
		if n := handshakes.Load() - before; n != 1 {
			t.Errorf("%s: the receiver saw %d connections, want 1 (no retry)", tc.name, n)
		}
	}
}
