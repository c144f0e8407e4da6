package live_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live"
)

// An API token that no client can send makes every write (and, without --public-read,
// every read) answer 401 for ever, while the daemon runs as if guarded. Validate
// refuses a token with white space at its ends for that reason ("a newline from a
// file?": "no request would be authorized"); a token with a line break or another
// control character inside it (a token file of two lines, a pasted "\r") cannot be
// sent in an Authorization header either — net/http's client refuses to send it, and
// its server refuses such a header line — and must be refused the same way, at start.
func TestAPITokenNoClientCanSendIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, token string }{
		{"two lines", "first-line\nsecond-line"},
		{"carriage return inside", "s3cr\ret"},
		{"NUL inside", "s3cr\x00et"},
		{"escape inside", "s3cr\x1bet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// What a client does with it: the request cannot be sent.
			req, err := http.NewRequest("POST", "http://127.0.0.1:1/v1/console/rules", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tc.token)
			if _, err := http.DefaultClient.Do(req); err == nil || !strings.Contains(err.Error(), "invalid header field value") {
				t.Fatalf("sending the token: %v; want net/http's refusal of the header value", err)
			}
			var c live.Config
			c.APIToken = tc.token
			c.EnsureDefaults()
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "api token") {
				t.Errorf("Validate() with api token %q = %v; want the token refused, as one no client can send (no request would be authorized)", tc.token, err)
			}
		})
	}
}
