package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// TestURLFromDNSFailureReasonQuotesTheSecretHost: a url_from destination's URL is a
// secret ("no error or Reason quotes it", go doc ./notify), and some receivers carry
// their token in the host (a per-endpoint subdomain: https://<token>.m.pipedream.net).
// Stage.target keeps such a host out of its own reasons
// (TestURLFromReasonNeverQuotesTheSecret), but when the name does not resolve, the
// delivery's Reason, which goes to the undelivered topic, the logs and the console,
// is "DNS lookup of <host>: …": the whole secret host, quoted.
func TestURLFromDNSFailureReasonQuotesTheSecretHost(t *testing.T) {
	for _, tc := range []struct{ name, url, secret string }{
		{"token subdomain", "https://en7x2k9s3cr3tq4.invalid/hook", "en7x2k9s3cr3tq4"},
		{"token subdomain, http", "http://tok-5f1e9a7c2b.hooks.invalid/", "tok-5f1e9a7c2b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"HINDSIGHT_SECRET_HOOK_URL": tc.url}
			s := secretStage(t, Config{Sender: SenderConfig{MaxAttempts: 1}}, env, nil)
			tg, err := s.target(&rule.Destination{Scope: "*", Name: "hook", Type: rule.DestWebhook, URLFrom: &rule.SecretRef{Env: "HINDSIGHT_SECRET_HOOK_URL"}})
			if err != nil {
				t.Fatal(err)
			}
			out := s.sender.Deliver(context.Background(), tg, testAlert())
			if out.Delivered {
				t.Fatalf("delivered to %s", tc.url)
			}
			if strings.Contains(out.Reason, tc.secret) {
				t.Errorf("the undelivered reason %q quotes %q, the secret host of the url_from destination", out.Reason, tc.secret)
			}
		})
	}
}
