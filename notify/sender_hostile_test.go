package notify_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/notify"
)

// quickSenderConfig is a fast sender: 3 attempts of at most 1 s, 10–50 ms backoff,
// loopback allowed.
func quickSenderConfig() notify.SenderConfig {
	return notify.SenderConfig{Timeout: time.Second, MaxAttempts: 3, MaxElapsed: 10 * time.Second,
		InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, AllowPrivate: true}
}

// TestAlertIDThatIsNoHeaderIsFinal: an alerts record is read as it is, and its
// alert_id becomes the Idempotency-Key header. One with a control character (a line
// break) makes a request net/http refuses to send, before any byte goes out: nothing a
// retry changes. The Sender classed that error as a transient transport failure and
// made every attempt of the retry budget (6 by default, up to a minute of a worker's
// time, backoff included) before giving up, with a reason that says "after 3 attempts"
// of requests none of which was made. It is final, as a bad URL or body is
// (Outcome.Final's doc), after one try. (The stage skips such a record as no alert
// before it gets here: TestRecordsThatAreNoAlertsAreSkipped.)
func TestAlertIDThatIsNoHeaderIsFinal(t *testing.T) {
	rc := newSink(t, ok200)
	snd, err := notify.NewSender(quickSenderConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	a := alertFor("id\r\nX-Injected: yes", "c-1", []string{"hook"})
	out := snd.Deliver(t.Context(), notify.Target{Name: "hook", Type: notify.TypeWebhook, URL: rc.srv.URL + "/hook"}, &a)
	if out.Delivered {
		t.Fatalf("delivered an alert whose id is no header value: %+v", out)
	}
	if !out.Final || out.Attempts != 1 {
		t.Errorf("alert id with a line break: Final %v after %d attempts, reason %q; want final after 1 (no retry sends an invalid header)",
			out.Final, out.Attempts, out.Reason)
	}
	if n := rc.requests(); n != 0 {
		t.Errorf("receiver saw %d requests", n)
	}
}

// TestReasonDoesNotQuoteJSONEscapedURL: docs/notifications.md promises "a receiver's
// answer quoted in a delivery's reason has the destination's URL, its path, its query's
// values and its secret taken out … in case the receiver echoes the request". A
// receiver that echoes the request in JSON written with escaped slashes (PHP's
// json_encode by default, and others) writes the path as \/services\/T0\/B0\/TOKEN:
// none of the pieces redact looked for, so a Slack webhook's secret path landed in the
// undelivered record, the logs and the console.
func TestReasonDoesNotQuoteJSONEscapedURL(t *testing.T) {
	const token = "XOXBSECRETTOKEN42"
	rc := newSink(t, func(_ int, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"no route for POST ` + strings.ReplaceAll(r.URL.Path, "/", `\/`) + `"}`))
		return false
	})
	snd, err := notify.NewSender(quickSenderConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	a := alertFor("a1", "c-1", []string{"hook"})
	out := snd.Deliver(t.Context(), notify.Target{Name: "hook", Type: notify.TypeSlack,
		URL: rc.srv.URL + "/services/T0000/B0000/" + token}, &a)
	if out.Delivered || !out.Final {
		t.Fatalf("outcome %+v, want a final 404", out)
	}
	if strings.Contains(out.Reason, token) {
		t.Errorf("reason quotes the Slack webhook's secret path, echoed JSON-escaped by the receiver:\n%s", out.Reason)
	}
}

// TestHugeRetryAfterIsNotIgnored: parseRetryAfter means to take a delta-seconds too
// large for a Duration as the longest wait (its branch for n past MaxInt64/1e9), which
// is over any retry budget: the delivery is given up at once, "Retry-After … is beyond
// the retry budget". But it parsed with strconv.ParseUint(v, 10, 63), which fails with
// ErrRange for 2^63 and more, and the value, no HTTP date either, was then ignored: a
// receiver answering 429 "Retry-After: 99999999999999999999" (RFC 9110's delta-seconds
// has no length bound) was retried at once on the short backoff, the opposite of what
// it asked, while one answering "Retry-After: 9999999999" was left alone. Both must end
// the retries as beyond the budget.
func TestHugeRetryAfterIsNotIgnored(t *testing.T) {
	for _, ra := range []string{"9999999999", "99999999999999999999"} {
		rc := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Retry-After", ra)
			w.WriteHeader(http.StatusTooManyRequests)
			return false
		})
		snd, err := notify.NewSender(quickSenderConfig())
		if err != nil {
			t.Fatal(err)
		}
		a := alertFor("ra", "c-1", []string{"hook"})
		out := snd.Deliver(t.Context(), notify.Target{Name: "hook", Type: notify.TypeWebhook, URL: rc.srv.URL + "/hook"}, &a)
		snd.Close()
		if out.Attempts != 1 || !strings.Contains(out.Reason, "beyond the retry budget") {
			t.Errorf("429 with Retry-After: %s: %d attempts (receiver saw %d), reason %q; want 1 attempt, the Retry-After beyond the retry budget",
				ra, out.Attempts, rc.requests(), out.Reason)
		}
	}
}
