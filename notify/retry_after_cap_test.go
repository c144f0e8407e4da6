package notify

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestRetryAfterCappedIsCounted: a receiver's Retry-After longer than
// --notify-max-retry-after is waited that long instead, and each such cut is told
// (OnRetryAfterCapped, which the stage counts in hindsight_limit_reached_total); one
// within it is not, nor one of exactly the cap (a mutation hunt: counting d >= cap
// as capped passed every notify test). The cap was a fixed minute, neither a flag
// nor shown.
func TestRetryAfterCappedIsCounted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		retryAfter string
		max        time.Duration
		capped     int
	}{
		{"30", 20 * time.Millisecond, 1},
		{"0", 20 * time.Millisecond, 0},
		{"1", time.Second, 0}, // waited whole: Retry-After is in seconds, so this waits 1 s
	} {
		rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 0 {
				w.Header().Set("Retry-After", tc.retryAfter)
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			w.Write([]byte("ok"))
		})
		cfg := testConfig()
		// Not testConfig's 300ms, which this test is not about: an answer slower than
		// that (a loaded race pass) timed the attempt out, and the delivery took a third.
		cfg.Timeout = 10 * time.Second
		cfg.MaxRetryAfter = tc.max
		capped := 0
		cfg.OnRetryAfterCapped = func() { capped++ }
		out := newSender(t, cfg).Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL, Secret: testSecret}, testAlert())
		if !out.Delivered || out.Attempts != 2 || capped != tc.capped {
			t.Errorf("Retry-After %s: outcome %+v, capped %d times; want delivered on attempt 2, capped %d times", tc.retryAfter, out, capped, tc.capped)
		}
	}
}
