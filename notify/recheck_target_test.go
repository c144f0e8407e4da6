package notify

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// TestRetryGoesToTheTargetRecheckGave: a retry goes to the target recheck gives, as
// the destination was edited while the delivery retried (Target.same judges whether
// the body must be built again and the target taken). Each case edits one of the
// fields a request depends on; a comparison dropped from Target.same kept the retry
// on the old target, unsigned by the new secret, to the old URL, in the old format,
// or quoting a host that had become a secret.
func TestRetryGoesToTheTargetRecheckGave(t *testing.T) {
	failing := func(body string) func(int, http.ResponseWriter, *http.Request) {
		return func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(body))
		}
	}
	firstFails := func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}
	for _, tc := range []struct {
		name string
		edit func(old Target, other *receiver) Target
	}{
		{"name", func(old Target, _ *receiver) Target { old.Name = "hook-renamed"; return old }},
		{"type", func(old Target, _ *receiver) Target { old.Type = TypeSlack; return old }},
		{"url", func(old Target, other *receiver) Target { old.URL = other.srv.URL + "/moved"; return old }},
		{"secret", func(old Target, _ *receiver) Target { old.Secret = []byte("rotated-secret"); return old }},
		{"url made a secret", func(old Target, _ *receiver) Target { old.SecretURL = true; return old }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, firstFails)
			if tc.name == "url made a secret" {
				// The receiver quotes its host back; once the URL is a secret the host
				// may be its token, so the Reason must not carry it.
				rc = newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
					failing("no route to "+r.Host)(n, w, r)
				})
			}
			other := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
			old := Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL + "/hook", Secret: testSecret}
			edited := tc.edit(old, other)

			var mu sync.Mutex
			var sentTo []Target
			cfg := testConfig()
			cfg.MaxAttempts = 2
			cfg.OnRequest = func(t Target, _ *contract.Alert) {
				mu.Lock()
				defer mu.Unlock()
				sentTo = append(sentTo, t)
			}
			a := testAlert()
			out := newSender(t, cfg).DeliverRechecking(context.Background(), old, a, func() (Target, error) {
				return edited, nil
			})

			mu.Lock()
			defer mu.Unlock()
			if len(sentTo) != 2 {
				t.Fatalf("%d attempts made, want 2 (outcome %+v)", len(sentTo), out)
			}
			if got := sentTo[1]; !got.same(edited) || got.Name != edited.Name || got.Type != edited.Type || got.URL != edited.URL ||
				!bytes.Equal(got.Secret, edited.Secret) || got.SecretURL != edited.SecretURL {
				t.Errorf("retry went to %+v, want the rechecked %+v", got, edited)
			}

			if tc.name == "url made a secret" {
				host := strings.TrimPrefix(rc.srv.URL, "http://")
				if out.Delivered || strings.Contains(out.Reason, host) {
					t.Errorf("outcome %+v: its Reason quotes the host %s of a URL made a secret", out, host)
				}
				return
			}
			if !out.Delivered {
				t.Fatalf("not delivered: %+v", out)
			}
			// The retry's request is the edited destination's: its URL, its body, its
			// signature.
			var retry hit
			switch hits, moved := rc.seen(), other.seen(); {
			case edited.URL != old.URL && (len(hits) != 1 || len(moved) != 1):
				t.Fatalf("old URL saw %d requests, the edited one %d; want 1 each", len(hits), len(moved))
			case edited.URL != old.URL:
				retry = moved[0]
			case len(hits) != 2:
				t.Fatalf("receiver saw %d requests, want 2", len(hits))
			default:
				retry = hits[1]
			}
			want, err := Body(edited, a)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(retry.body, want) {
				t.Errorf("retry's body\n%s\nwant the edited destination's\n%s", retry.body, want)
			}
			if err := verifyPerDoc(edited.Secret, retry.header, retry.body, time.Now()); err != nil {
				t.Errorf("retry's signature by the edited secret: %v", err)
			}
		})
	}
}
