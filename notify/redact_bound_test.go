package notify

import "testing"

// TestRedactTakesOutASecretOfMinRedactBytes: a secret of minRedact bytes, the shortest
// redacted, is taken out of what a receiver answered, and one a byte shorter stays (a
// mutation hunt: leaving pieces of exactly minRedact bytes in passed every notify
// test, and a 6-byte secret quoted back by a receiver reached the Reason whole).
func TestRedactTakesOutASecretOfMinRedactBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ secret, want string }{
		{"s3cr3t", "bad signature for key …"},
		{"s3cr3", "bad signature for key s3cr3"},
	} {
		if len(tc.secret) != minRedact && len(tc.secret) != minRedact-1 {
			t.Fatalf("secret %q: the cases are minRedact (%d) bytes and one fewer", tc.secret, minRedact)
		}
		target := Target{Name: "hook", Type: TypeWebhook, URL: "http://127.0.0.1:1/hook", Secret: []byte(tc.secret)}
		if got := string(redact([]byte("bad signature for key "+tc.secret), target)); got != tc.want {
			t.Errorf("secret %q: redact = %q, want %q", tc.secret, got, tc.want)
		}
	}
}
